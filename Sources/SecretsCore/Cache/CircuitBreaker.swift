/// Where the breaker stands; `.status` prints the raw value.
public enum BreakerState: String, Sendable, Equatable {
    case closed, open
    case halfOpen = "half_open"
}

/// Stops calling a backend that keeps failing: after `threshold` unavailable answers in a row it
/// opens for `firstProbe`, then lets one call through; that call's answer closes it, or reopens it
/// for twice as long as before, up to `cooldown`. A fault of a few seconds is then found ended
/// within about `firstProbe` of its end, not a whole `cooldown`.
struct CircuitBreaker {
    let threshold: Int
    let cooldown: Duration
    let firstProbe: Duration
    private(set) var failures = 0
    private var openedAt: Duration?
    /// How long it stays open this time.
    private var wait: Duration
    private var probing = false

    init(threshold: Int, cooldown: Duration, firstProbe: Duration? = nil) {
        self.threshold = threshold
        self.cooldown = cooldown
        self.firstProbe = min(firstProbe ?? cooldown, cooldown)
        self.wait = self.firstProbe
    }

    func state(at now: Duration) -> BreakerState {
        guard let openedAt else { return .closed }
        return now - openedAt >= wait ? .halfOpen : .open
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
        wait = firstProbe
        probing = false
    }

    /// Only unavailability counts: a NotFound is a healthy backend's answer.
    mutating func recordUnavailable(at now: Duration) {
        failures += 1
        if probing {
            wait = min(wait * 2, cooldown)
            openedAt = now
        } else if threshold > 0 && failures >= threshold && openedAt == nil {
            wait = firstProbe
            openedAt = now
        } else if threshold > 0 && failures >= threshold {
            // A call let through before the breaker opened, failing late: the wait stands.
            openedAt = now
        }
        probing = false
    }
}
