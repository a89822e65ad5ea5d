import struct Foundation.Date
import Synchronization

/// Where the cache and the file system read the time. Injected so TTL tests run without sleeping.
public protocol TimeSource: Sendable {
    /// Monotonic time since an arbitrary origin; only differences mean anything.
    func monotonicNow() -> Duration
    /// Wall-clock time, for logs, `.rotate` history and file times.
    func wallNow() -> Date
}

public struct SystemTimeSource: TimeSource {
    private static let origin = ContinuousClock.now
    public init() {}
    public func monotonicNow() -> Duration { ContinuousClock.now - Self.origin }
    public func wallNow() -> Date { Date() }
}

/// A clock that moves only when told to.
public final class ManualTimeSource: TimeSource {
    private let state: Mutex<(Duration, Date)>

    public init(wall: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex((.zero, wall))
    }

    public func monotonicNow() -> Duration { state.withLock { $0.0 } }
    public func wallNow() -> Date { state.withLock { $0.1 } }

    public func advance(by duration: Duration) {
        state.withLock { value in
            value.0 += duration
            value.1 = value.1.addingTimeInterval(duration.seconds)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
