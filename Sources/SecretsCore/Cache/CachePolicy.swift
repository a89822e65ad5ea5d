/// The knobs of `CachingSecretStore`, as the `mount` flags set them.
public struct CachePolicy: Sendable, Equatable {
    /// How long a value is fresh. Zero turns caching off: every read reaches the store.
    public var ttl: Duration
    /// How long past its TTL a value may still be served when the store fails. Zero: never.
    public var maxStale: Duration
    /// How long a NotFound is remembered.
    public var negativeTTL: Duration
    /// How long a NotFound from a replica that may be behind is remembered (at most `negativeTTL`):
    /// a Vault standby applies a write made at the active node ~0.1 s after it, so a secret made just
    /// before is found by the next lookup after this, not after the negative TTL (issue 27 §3).
    public var replicaMissTTL: Duration
    /// How many entries at most; the least recently used leave first. The default holds a tree of
    /// 10,000 secrets with the listings of its folders, even one folder a secret (at 10,000 a second
    /// pass over such a tree missed: the listings pushed a tenth out at once).
    public var maxEntries: Int
    /// A value read after this fraction of its TTL is refreshed in the background.
    public var refreshAheadFraction: Double
    /// The deadline of each backend call; past it the call counts as unavailable.
    public var backendTimeout: Duration
    /// How long a reader of an expired value waits for the backend before it is given the stale
    /// value (while the call goes on in the background). Readers never wait longer than this on a
    /// backend that hangs, as long as a stale value may be served.
    public var staleGrace: Duration
    /// Consecutive unavailable answers that open the circuit breaker; zero turns it off.
    public var breakerThreshold: Int
    /// The longest the breaker stays open before one call is let through to probe the backend. It
    /// bounds how late the end of any fault is noticed: a change is served within one TTL plus this
    /// (and one call) after the backend answers again (issue 27 §7). One probe a second is no load.
    public var breakerCooldown: Duration
    /// How long the breaker stays open the first time; each probe that fails doubles it, up to
    /// `breakerCooldown`.
    public var breakerFirstProbe: Duration
    /// The spread of each answer's fresh lifetime, as a fraction J of the TTL, so mounts started
    /// together (one deploy, a fleet) do not expire and refresh in the same second. The first answer
    /// for a name the cache holds nothing for (after the mount, an eviction, a rotation) or holds
    /// only stale (after an outage) lives between J/2 of the TTL and all of it, at a point drawn
    /// once per mount and stepped by the golden ratio, so the names a deploy read together are
    /// fetched again at points spread evenly over a whole cycle. Every later answer lives the TTL
    /// less J/2 of it, so each name keeps its point of the cycle. Zero: every answer lives exactly
    /// the TTL. (Not for stores that list versions: their freshness rounds decide when a value is read.)
    public var refreshJitter: Double
    /// At TTL 0, how long the requests of one moment share an answer (DESIGN §1.1: one backend read
    /// per open): a listing fetched for one lookup answers the lookups that follow it (the folders
    /// along a path, the names of one `ls -l`), and the value a LOOKUP read answers the OPEN and
    /// GETATTRs of the open it was looked up for. Values are never reused across opens.
    public var coalescingWindow: Duration

    public init(
        ttl: Duration = .seconds(300),
        maxStale: Duration = .seconds(86_400),
        negativeTTL: Duration = .seconds(10),
        replicaMissTTL: Duration = .seconds(1),
        maxEntries: Int = 20_000,
        refreshAheadFraction: Double = 0.75,
        backendTimeout: Duration = BackendTimeout.standard,
        staleGrace: Duration = .milliseconds(250),
        breakerThreshold: Int = 5,
        breakerCooldown: Duration = .seconds(1),
        breakerFirstProbe: Duration = .milliseconds(250),
        refreshJitter: Double = 0.1,
        coalescingWindow: Duration = .seconds(1)
    ) {
        self.ttl = ttl
        self.maxStale = maxStale
        self.negativeTTL = negativeTTL
        self.replicaMissTTL = min(replicaMissTTL, negativeTTL)
        self.maxEntries = maxEntries
        self.refreshAheadFraction = refreshAheadFraction
        self.backendTimeout = backendTimeout
        self.staleGrace = staleGrace
        self.breakerThreshold = breakerThreshold
        self.breakerCooldown = breakerCooldown
        self.breakerFirstProbe = min(breakerFirstProbe, breakerCooldown)
        self.refreshJitter = refreshJitter
        self.coalescingWindow = coalescingWindow
    }
}

/// What the cache holds an answer for.
public enum CacheKey: Hashable, Sendable {
    case secret(SecretPath, version: String?)
    case listing(SecretPath)
    case versions(SecretPath)

    public var path: SecretPath {
        switch self {
        case .secret(let path, _), .listing(let path), .versions(let path): return path
        }
    }
}

/// How a read was answered, for the audit log and `.status`.
public enum CacheOutcome: String, Sendable {
    case hit, miss, stale
}

/// A cached answer and how it was given. A struct built once the call has answered, not a tuple
/// returned across a suspension: that is what Swift 6.3's optimizer breaks (see `PathAnswer`).
public struct CacheAnswer<Value: Sendable>: Sendable {
    public let value: Value
    public let outcome: CacheOutcome

    public init(_ value: Value, _ outcome: CacheOutcome) {
        self.value = value
        self.outcome = outcome
    }
}
