/// Bounded exponential backoff with full jitter (the AWS architecture blog's "exponential backoff and
/// jitter"): after attempt n, a random pause between a quarter of and all of
/// min(maxDelay, baseDelay * 2^(n-1)), so clients that failed together spread out. The layer never
/// pauses past a call's deadline.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts of one call, the first included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The longest pause after `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        min(maxDelay, baseDelay * (1 << min(max(attempt - 1, 0), 16)))
    }

    /// The pause after `attempt`, with `unit` a random number in 0...1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let ceiling = ceiling(afterAttempt: attempt).nanoseconds
        let spread = Double(ceiling - ceiling / 4) * min(max(unit, 0), 1)
        return .nanoseconds(ceiling / 4 + Int64(spread.rounded()))
    }
}
