import Synchronization

/// The first of two answers: `body`'s, or `late()`'s once `timeout` has passed on `clock`. Unlike a
/// task group, this never waits for the loser, so a backend call that ignores cancellation (a hung
/// server, a blocked lock) cannot hold a reader past its deadline. The loser is cancelled and left to
/// finish on its own. The HTTP layer's call deadline uses it; the cache's calls race theirs in `Flights`.
public func firstOf<T: Sendable>(
    _ body: @escaping @Sendable () async throws -> T,
    orAfter timeout: Duration,
    on clock: any TimeSource,
    _ late: @escaping @Sendable () throws -> T
) async throws -> T {
    let race = Race<T>()
    race.run(body, orAfter: timeout, on: clock, late: late) { race.finish($0) }
    return try await withTaskCancellationHandler {
        try await race.value
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The deadline of the backend call this task works for, set by the cache's `Flights`: by
/// then a race above has answered the reader and cancelled this task. On the monotonic time of
/// `SystemTimeSource`, which every production `TimeSource` reads.
///
/// Task-locals pass to unstructured tasks too, which that cancellation does not reach: work a call
/// starts for others to share (a login, a credential fetch) runs in `Task.detached`, so that its
/// HTTP calls race their own deadlines.
public enum CallDeadline {
    @TaskLocal public static var enclosing: Duration?
}

/// One answer, given once: the first `finish` wins, resumes every waiter and cancels the losers.
/// A waiter that comes after it gets the same answer, which is kept until the race itself goes
/// (with the tasks that finish it, which end with it).
final class Race<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiters: [CheckedContinuation<T, any Error>] = []
        var losers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    init() {}

    /// A race already decided: `result` is its answer.
    init(finished result: Result<T, any Error>) {
        state.withLock { $0.result = result }
    }

    /// Whether an answer has been given.
    var isFinished: Bool { state.withLock { $0.result != nil } }

    /// What to stop once an answer is given; stopped at once when one already is.
    func onLoss(_ losers: [@Sendable () -> Void]) {
        let late = state.withLock { state -> Bool in
            guard state.result == nil else { return true }
            state.losers += losers
            return false
        }
        if late { for cancel in losers { cancel() } }
    }

    /// The answer, when it comes.
    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let result = state.withLock { state -> Result<T, any Error>? in
                    if state.result == nil { state.waiters.append(continuation) }
                    return state.result
                }
                if let result { continuation.resume(with: result) }
            }
        }
    }

    /// Gives `result` as the answer unless one was given; returns whether it was this one.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let won = state.withLock { state -> ([CheckedContinuation<T, any Error>], [@Sendable () -> Void])? in
            guard state.result == nil else { return nil }
            state.result = result
            defer {
                state.waiters = []
                state.losers = []
            }
            return (state.waiters, state.losers)
        }
        guard let (waiters, losers) = won else { return false }
        for cancel in losers { cancel() }
        for waiter in waiters { waiter.resume(with: result) }
        return true
    }
}

extension Race {
    /// Runs `body` in a task against a timer of `timeout` on `clock` (`TimeSource.schedule`, which
    /// arms it without a task of its own where it can); each hands its ending to `settle`, which gives
    /// this race its answer (`finish`: the first one wins, cancels the task and disarms the timer).
    /// Only a deadline that passes starts a task, for `late`'s answer. A detached task neither starts
    /// on the caller's actor only to leave it at once nor takes its task-locals.
    func run(
        _ body: @escaping @Sendable () async throws -> T, orAfter timeout: Duration, on clock: any TimeSource,
        detached: Bool = false, late: @escaping @Sendable () throws -> T,
        settle: @escaping @Sendable (Result<T, any Error>) async -> Void
    ) {
        let work: @Sendable () async -> Void = {
            do {
                await settle(.success(try await body()))
            } catch {
                await settle(.failure(error))
            }
        }
        let task = detached ? Task.detached(operation: work) : Task(operation: work)
        let disarm = clock.schedule(after: timeout) {
            Task.detached { await settle(Result { try late() }) }
        }
        onLoss([{ task.cancel() }, disarm])
    }
}
