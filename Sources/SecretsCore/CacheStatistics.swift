import struct Foundation.Date

/// The figures `.status` and `.metrics` show. Paths and error kinds only, never a value.
public struct CacheStatistics: Sendable, Equatable {
    public struct RecentError: Sendable, Equatable {
        public var time: Date
        public var path: String
        public var kind: String
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
