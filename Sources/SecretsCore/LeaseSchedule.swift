import struct Foundation.Date

/// Where a leased credential (`leases:`) stands: when it was made, when its lease ends now, whether
/// the backend will renew it, and how many times it did. Wall-clock times, because a worker that
/// takes over from a dead one is another process. Never the lease id: that is a credential.
public struct LeaseState: Sendable, Equatable {
    /// When the credential was made.
    public var obtainedAt: Date
    /// When the last renewal answered (or the credential was made).
    public var renewedAt: Date
    /// When the lease ends: the credential stops working then.
    public var expiresAt: Date
    public var renewable: Bool
    /// The lease's first duration: a renewal granting less has reached the role's max TTL.
    public var leaseDuration: Double
    public var renewals: Int
    /// The last renewal granted less than asked: the role's max TTL is near, the next step is a new one.
    public var capped: Bool

    public init(
        obtainedAt: Date, expiresAt: Date, renewable: Bool, renewedAt: Date? = nil, leaseDuration: Double? = nil,
        renewals: Int = 0, capped: Bool = false
    ) {
        self.obtainedAt = obtainedAt
        self.renewedAt = renewedAt ?? obtainedAt
        self.expiresAt = expiresAt
        self.renewable = renewable
        self.leaseDuration = leaseDuration ?? max(0, expiresAt.timeIntervalSince(obtainedAt))
        self.renewals = renewals
        self.capped = capped
    }

    /// After a renewal at `now` that granted `granted` seconds. Vault caps a renewal at the role's max
    /// TTL without saying so; a grant short of the lease's first duration is how that shows.
    public func renewed(at now: Date, granted: Double) -> LeaseState {
        var next = self
        next.renewedAt = now
        next.expiresAt = now.addingTimeInterval(max(0, granted))
        next.renewals += 1
        // A second of slack: Vault rounds to whole seconds.
        next.capped = granted + 1 < leaseDuration
        return next
    }

    public func hasEnded(at now: Date) -> Bool { now >= expiresAt }
}

/// When to act on a lease and what to do: renew at `fraction` of what is left of it (2/3, as Vault
/// Agent does) while the backend renews it in full; once it cannot (not renewable, or capped by the
/// max TTL), make a new credential at that point instead, so the new one is in place before the old
/// one ends. After a failure, retry with doubling waits, never later than a third of what is left.
public struct LeaseSchedule: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case renew
        case replace
    }

    public var fraction: Double
    public var firstRetry: Duration
    public var longestRetry: Duration

    public static let defaultFraction = 2.0 / 3.0

    public init(
        fraction: Double = Self.defaultFraction, firstRetry: Duration = .seconds(1),
        longestRetry: Duration = .seconds(60)
    ) {
        self.fraction = fraction
        self.firstRetry = firstRetry
        self.longestRetry = longestRetry
    }

    /// The next step for `state` and when it is due.
    public func next(_ state: LeaseState) -> (action: Action, at: Date) {
        let left = max(0, state.expiresAt.timeIntervalSince(state.renewedAt))
        let at = state.renewedAt.addingTimeInterval(left * fraction)
        return (state.renewable && !state.capped ? .renew : .replace, at)
    }

    /// The wait before attempt `failures` + 1 after that many failed in a row, at `now`: doubling from
    /// `firstRetry` up to `longestRetry`, and at most a third of what is left of the lease (but at
    /// least a second), so a short lease is tried again several times before it ends.
    public func retryWait(failures: Int, state: LeaseState?, at now: Date) -> Duration {
        let doubled = firstRetry * Double(1 << min(max(failures - 1, 0), 20))
        var wait = min(doubled, longestRetry)
        if let state, !state.hasEnded(at: now) {
            let third = Duration.seconds(max(1, state.expiresAt.timeIntervalSince(now) / 3))
            wait = min(wait, third)
        }
        return wait
    }
}

/// What `.status` shows of a lease: its folder, when the credential was made and ends, how often it
/// was renewed and replaced, and why the last step failed. Never the lease id or a value.
public struct LeaseStatus: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Read from a secrets engine (`read:`), renewed while the backend renews it.
        case credential
        /// Signed by an SSH CA (`sign:`), signed again before it expires: `made` counts the signings.
        case sshCertificate = "ssh-certificate"
    }

    public var path: SecretPath
    public var kind: Kind
    public var obtainedAt: Date?
    public var expiresAt: Date?
    public var renewals: Int
    /// Credentials made for this folder since the mount started, the first included.
    public var made: Int
    public var problem: String?

    public init(
        path: SecretPath, obtainedAt: Date?, expiresAt: Date?, renewals: Int, made: Int, kind: Kind = .credential,
        problem: String? = nil
    ) {
        self.path = path
        self.kind = kind
        self.obtainedAt = obtainedAt
        self.expiresAt = expiresAt
        self.renewals = renewals
        self.made = made
        self.problem = problem
    }
}
