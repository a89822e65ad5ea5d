import Synchronization

/// How many requests are being answered off the loop thread, and a way to wait until none are:
/// shutdown lets them finish before the mount goes away, woken by the last one rather than polling.
final class InflightRequests: Sendable {
    private let count = Atomic<Int>(0)
    private let waiters = Mutex<(next: UInt64, waiting: [UInt64: CheckedContinuation<Void, Never>])>((0, [:]))

    /// Read by the request loop between requests, so it costs one atomic load.
    var busy: Bool { count.load(ordering: .relaxed) > 0 }

    func begin() { count.add(1, ordering: .relaxed) }

    func end() {
        guard count.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 else { return }
        let waiting = waiters.withLock { state in
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once no request is in flight, or when the waiting task is cancelled.
    func waitUntilNone() async {
        let id = waiters.withLock { state in
            state.next += 1
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let now = waiters.withLock { state in
                    if count.load(ordering: .sequentiallyConsistent) == 0 || Task.isCancelled { return true }
                    state.waiting[id] = waiter
                    return false
                }
                if now { waiter.resume() }
            }
        } onCancel: {
            waiters.withLock { $0.waiting.removeValue(forKey: id) }?.resume()
        }
    }
}
