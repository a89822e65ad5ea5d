/// Where the breaker stands; `.status` prints the raw value.
public enum BreakerState: String, Sendable, Equatable {
    case closed, open
    case halfOpen = "half_open"
}

/// Stops calling a backend that keeps failing: after `threshold` unavailable answers in a row it
/// opens for `cooldown`, then lets one call through; that call's answer closes or reopens it.
struct CircuitBreaker {
    let threshold: Int
    let cooldown: Duration
    private(set) var failures = 0
    private var openedAt: Duration?
    private var probing = false

    init(threshold: Int, cooldown: Duration) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    func state(at now: Duration) -> BreakerState {
        guard let openedAt else { return .closed }
        return now - openedAt >= cooldown ? .halfOpen : .open
    }

    /// Whether a call may go to the backend now; in half-open state, only one at a time.
    mutating func allow(at now: Duration) -> Bool {
        switch state(at: now) {
        case .closed: return true
        case .open: return false
        case .halfOpen:
            if probing { return false }
            probing = true
            return true
        }
    }

    /// The backend answered (a value, or a NotFound or a refusal): it is up.
    mutating func recordSuccess() {
        failures = 0
        openedAt = nil
        probing = false
    }

    /// Only unavailability counts: a NotFound is a healthy backend's answer.
    mutating func recordUnavailable(at now: Duration) {
        failures += 1
        if probing || (threshold > 0 && failures >= threshold) { openedAt = now }
        probing = false
    }
}
