import struct Foundation.Date

/// Why the mount's view of a secret changed (`.events`, `on_change`): never what it holds.
public enum ChangeCause: String, Sendable, Codable, CaseIterable {
    /// A rotation or write through this process (`.rotate`, `secretsfs rotate` against the mount).
    case rotation
    /// A background refresh (refresh-ahead, prefetch, a listing that says what changed) found a new version.
    case refresh
    /// A reader's fetch after the TTL found a version made elsewhere.
    case outside
    /// The store failed and the last value is being served past its TTL.
    case stale
    /// A value that was being served stale is fresh again.
    case recovered
    /// The secret is gone at the store.
    case deleted
}

/// One change to what a path of the mount shows, as `.events` writes it and `on_change` matches it.
public struct ChangeEvent: Sendable, Equatable {
    public var time: Date
    /// The file that changed, relative to the mount's root: a secret, or a rendered file.
    public var path: SecretPath
    /// The field a rotation changed, for secrets that are folders of fields; nil for the whole secret.
    public var field: String?
    public var oldVersion: String?
    public var newVersion: String?
    public var cause: ChangeCause

    public init(
        time: Date, path: SecretPath, field: String? = nil, oldVersion: String?, newVersion: String?,
        cause: ChangeCause
    ) {
        self.time = time
        self.path = path
        self.field = field
        self.oldVersion = oldVersion
        self.newVersion = newVersion
        self.cause = cause
    }
}

/// A change the cache saw, with what it knows of the versions on either side.
public struct CacheChange: Sendable, Equatable {
    public var key: CacheKey
    public var cause: ChangeCause
    public var field: String?
    public var oldVersion: String?
    public var newVersion: String?

    public init(
        _ key: CacheKey, cause: ChangeCause, field: String? = nil, oldVersion: String? = nil,
        newVersion: String? = nil
    ) {
        self.key = key
        self.cause = cause
        self.field = field
        self.oldVersion = oldVersion
        self.newVersion = newVersion
    }

    /// Whether what the kernel keeps for the key must go: a value served stale is still the same value.
    public var dropsKernelCaches: Bool { cause != .stale }
}
