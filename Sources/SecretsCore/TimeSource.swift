import Synchronization

import struct Foundation.Date

/// Where the cache and the file system read the time, and how they wait. Injected so that TTL,
/// deadline and breaker tests run without sleeping.
public protocol TimeSource: Sendable {
    /// Monotonic time since an arbitrary origin; only differences mean anything.
    func monotonicNow() -> Duration
    /// Wall-clock time, for logs, `.rotate` history and file times.
    func wallNow() -> Date
    /// Suspends for `duration` of this source's time; throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
    /// Runs `action` once `duration` of this source's time has passed, unless the cancel it returns is
    /// called first. For a deadline that rarely passes (every backend call has one): a source that can
    /// arm a timer without a task waiting on it (`EventLoopTimeSource`) does, the default is a task
    /// that sleeps.
    func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void
}

extension TimeSource {
    public func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let timer = Task.detached {
            do { try await self.sleep(for: duration) } catch { return }
            action()
        }
        return { timer.cancel() }
    }
}

public struct SystemTimeSource: TimeSource {
    private static let origin = ContinuousClock.now
    public init() {}
    public func monotonicNow() -> Duration { ContinuousClock.now - Self.origin }
    public func wallNow() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// A clock that moves only when told to. Sleepers wake when `advance` passes their deadline.
public final class ManualTimeSource: TimeSource {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var wall: Date
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(wall: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(wall: wall))
    }

    public func monotonicNow() -> Duration { state.withLock { $0.now } }
    public func wallNow() -> Date { state.withLock { $0.wall } }

    public func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now += duration
            state.wall = state.wall.addingTimeInterval(duration.seconds)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// How many tasks are waiting in `sleep`.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(for duration: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if duration <= .zero || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: state.now + duration, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            try Task.checkCancellation()
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, as the C and NIO clocks count.
    public var nanoseconds: Int64 {
        let parts = components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}
