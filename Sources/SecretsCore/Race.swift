import Synchronization

/// The first of two answers: `body`'s, or `late()`'s once `timeout` has passed on `clock`. Unlike a
/// task group, this never waits for the loser, so a backend call that ignores cancellation (a hung
/// server, a blocked lock) cannot hold a reader past its deadline. The loser is cancelled and left to
/// finish on its own. The cache's backend deadline and the HTTP layer's call deadline both use it.
public func firstOf<T: Sendable>(
    _ body: @escaping @Sendable () async throws -> T,
    orAfter timeout: Duration,
    on clock: any TimeSource,
    _ late: @escaping @Sendable () throws -> T
) async throws -> T {
    let race = Race<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task {
                do {
                    race.finish(.success(try await body()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                do { try await clock.sleep(for: timeout) } catch { return }
                race.finish(Result { try late() })
            }
            race.start(continuation, losers: [{ work.cancel() }, { timer.cancel() }])
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// One answer, given once: the first `finish` wins, resumes the waiter and cancels the others. The
/// answer is kept only until the waiter has it, so a value does not outlive its reader here.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var finished = false
        /// An answer that came before the waiter did.
        var early: Result<T, any Error>?
        var losers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, losers: [@Sendable () -> Void]) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if state.finished {
                defer { state.early = nil }
                return state.early
            }
            state.continuation = continuation
            state.losers = losers
            return nil
        }
        if let early {
            for cancel in losers { cancel() }
            continuation.resume(with: early)
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, losers) = state.withLock {
            state -> (CheckedContinuation<T, any Error>?, [@Sendable () -> Void]) in
            guard !state.finished else { return (nil, []) }
            state.finished = true
            guard let continuation = state.continuation else {
                state.early = result
                return (nil, [])
            }
            defer {
                state.continuation = nil
                state.losers = []
            }
            return (continuation, state.losers)
        }
        for cancel in losers { cancel() }
        continuation?.resume(with: result)
    }
}
