import struct Foundation.Date

/// One cached answer as it is handed to the next worker: what was read and when (wall clock,
/// because the worker that restores it is another process).
public struct MirroredEntry: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case secret(Secret)
        case listing(Listing)
        case versions([VersionInfo])
    }

    public var payload: Payload
    public var fetchedAt: Date

    public init(payload: Payload, fetchedAt: Date) {
        self.payload = payload
        self.fetchedAt = fetchedAt
    }
}

/// Where the cache copies its answers so a worker started after this one dies can serve them
/// (stale-if-error included) before the backend answers it. Called from inside the cache's
/// isolation, in order; an implementation must not call back into the cache.
public protocol CacheMirror: Sendable {
    /// Records `entry` for `key`, or that `key` is gone (nil). False when there is no room: the
    /// cache then hands over every live entry through `replaceAll`.
    func record(_ key: CacheKey, _ entry: MirroredEntry?) -> Bool
    /// Replaces everything recorded with `entries`.
    func replaceAll(_ entries: [(CacheKey, MirroredEntry)])
}
