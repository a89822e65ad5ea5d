/// A lock held across `await`s. sqlite-nio hands each query to a thread pool, so two tasks sharing
/// one connection would interleave their statements; a transaction (`BEGIN IMMEDIATE` … `COMMIT`)
/// must run alone from its first statement to its last. Waiters are served first come, first served.
actor AsyncLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    private func acquire() async {
        guard held else {
            held = true
            return
        }
        // Ownership passes straight from the releaser to the first waiter, so no one can barge in.
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
