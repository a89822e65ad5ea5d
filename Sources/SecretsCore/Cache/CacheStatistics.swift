import struct Foundation.Date

/// The figures `.status` and `.metrics` show. Paths and error kinds only, never a value.
public struct CacheStatistics: Sendable, Equatable {
    public struct RecentError: Sendable, Equatable {
        public var time: Date
        public var path: String
        public var kind: String
    }

    /// What `--prefetch` did at mount; nil when nothing was asked for.
    public struct Prefetch: Sendable, Equatable {
        /// Secrets whose path matched a pattern.
        public var matched = 0
        /// Matched secrets now in the cache.
        public var read = 0
        /// Matched secrets that could not be read (each read on demand instead).
        public var failed = 0
        /// Listings that could not be walked (what is below them is not prefetched).
        public var failedListings = 0
        public var seconds = 0.0

        public init() {}
    }

    /// What `--cache-file` did; nil without one.
    public struct CacheFile: Sendable, Equatable {
        public var path: String
        /// Answers taken from the file at mount (those still within `--max-stale`).
        public var restored = 0
        public var writes = 0
        public var lastWrite: Date?
        /// Why the file was not used or not written, in words without a value.
        public var problem: String?

        public init(path: String) { self.path = path }
    }

    public var entries = 0
    public var hits = 0
    public var misses = 0
    public var staleServes = 0
    public var backendCalls = 0
    public var refreshes = 0
    public var evictions = 0
    /// Calls refused without reaching the backend because the breaker was open.
    public var breakerRejections = 0
    public var breakerState = BreakerState.closed
    public var prefetch: Prefetch?
    public var cacheFile: CacheFile?
    /// Listings of current versions made to tell which cached values changed.
    public var freshnessChecks = 0
    /// Cached values marked fresh again because a listing showed their version unchanged.
    public var confirmedFresh = 0
    public var errorsByKind: [String: Int] = [:]
    public var recentErrors: [RecentError] = []

    public var hitRate: Double {
        let lookups = hits + misses
        return lookups == 0 ? 0 : Double(hits) / Double(lookups)
    }

    static let recentErrorLimit = 20

    mutating func record(error: SecretError, path: SecretPath, at time: Date) {
        errorsByKind[error.code.description, default: 0] += 1
        recentErrors.append(RecentError(time: time, path: path.description, kind: error.code.description))
        if recentErrors.count > Self.recentErrorLimit { recentErrors.removeFirst() }
    }
}
