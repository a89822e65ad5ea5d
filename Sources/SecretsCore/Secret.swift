import struct Foundation.Date

/// What a secret holds: one value, or a map of named fields (Vault data, expanded JSON).
public enum SecretContent: Sendable, Equatable {
    case value(SecretValue)
    case fields([String: SecretValue])

    /// Vault's rule: `{"value": v}` alone is a plain value; any other map is a folder of fields.
    public static func fromMap(_ map: [String: SecretValue]) -> SecretContent {
        if map.count == 1, let value = map["value"] { return .value(value) }
        return .fields(map)
    }

    /// The map a backend that stores maps writes: a plain value becomes `{"value": v}`.
    public var asMap: [String: SecretValue] {
        switch self {
        case .value(let value): return ["value": value]
        case .fields(let fields): return fields
        }
    }
}

/// One version of a secret as read from a store.
public struct Secret: Sendable, Equatable {
    public var content: SecretContent
    /// The backend's id of this version: `3`, or an AWS VersionId.
    public var version: String
    /// When this version was created at the backend; the file's `st_mtime`.
    public var createdAt: Date?

    public init(content: SecretContent, version: String, createdAt: Date?) {
        self.content = content
        self.version = version
        self.createdAt = createdAt
    }
}

/// The children of a folder. A name may be both a secret and a folder (a prefix): the file
/// system merges them.
public struct Listing: Sendable, Equatable {
    public var secrets: Set<String>
    public var folders: Set<String>

    public init(secrets: Set<String> = [], folders: Set<String> = []) {
        self.secrets = secrets
        self.folders = folders
    }

    public var isEmpty: Bool { secrets.isEmpty && folders.isEmpty }

    /// Builds the listing of `folder` from full secret paths, keeping only names that can be shown.
    /// `skipped` receives each full path that was dropped for an invalid segment.
    public static func children(
        of folder: SecretPath,
        among paths: some Sequence<[String]>,
        skipped: (String) -> Void = { _ in }
    ) -> Listing {
        var listing = Listing()
        let depth = folder.segments.count
        for segments in paths {
            guard segments.count > depth, Array(segments.prefix(depth)) == folder.segments else { continue }
            let below = segments[depth...]
            guard below.allSatisfy(SecretPath.isValidSegment) else {
                skipped(segments.joined(separator: "/"))
                continue
            }
            if below.count == 1 {
                listing.secrets.insert(below.first!)
            } else {
                listing.folders.insert(below.first!)
            }
        }
        return listing
    }
}

/// One readable version of a secret, oldest first in a list, with the labels that point at it.
public struct VersionInfo: Sendable, Equatable {
    public var id: String
    public var createdAt: Date?
    /// `current`, `previous`, and on AWS the staging labels.
    public var labels: [String]

    public init(id: String, createdAt: Date?, labels: [String] = []) {
        self.id = id
        self.createdAt = createdAt
        self.labels = labels
    }

    public static let current = "current"
    public static let previous = "previous"

    /// For stores whose versions are ordered: the newest is `current`, the one before `previous`.
    public static func labellingCurrentAndPrevious(_ versions: [VersionInfo]) -> [VersionInfo] {
        var versions = versions
        if versions.count >= 1 { versions[versions.count - 1].labels.append(current) }
        if versions.count >= 2 { versions[versions.count - 2].labels.append(previous) }
        return versions
    }
}

/// What a caller asks to rotate: a secret, or one field of a multi-field secret.
public struct RotationRequest: Sendable {
    public var path: SecretPath
    public var field: String?
    /// Makes the new value; stores with their own generator (AWS GetRandomPassword) may ignore it.
    public var generate: @Sendable () -> SecretValue
    /// The length `generate` makes, for stores that make the value themselves.
    public var length: Int

    public init(
        path: SecretPath, field: String? = nil, length: Int = 32,
        generate: @escaping @Sendable () -> SecretValue
    ) {
        self.path = path
        self.field = field
        self.length = length
        self.generate = generate
    }
}

public struct RotationResult: Sendable, Equatable {
    public var path: SecretPath
    public var field: String?
    public var oldVersion: String?
    public var newVersion: String

    public init(path: SecretPath, field: String?, oldVersion: String?, newVersion: String) {
        self.path = path
        self.field = field
        self.oldVersion = oldVersion
        self.newVersion = newVersion
    }
}

public struct HealthReport: Sendable, Equatable {
    public var healthy: Bool
    /// Why not, in words fit for a log and `.status`; never a credential.
    public var detail: String
    /// What the store's answers showed of a likely mistake in its setup (a prefix with nothing under
    /// it), while it still answers: shown in `.status` and by `check`.
    public var warnings: [String]

    public init(healthy: Bool, detail: String, warnings: [String] = []) {
        self.healthy = healthy
        self.detail = detail
        self.warnings = warnings
    }
}

/// What a store can do.
public struct StoreCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let versions = StoreCapabilities(rawValue: 1 << 0)
    public static let write = StoreCapabilities(rawValue: 1 << 1)
    public static let rotate = StoreCapabilities(rawValue: 1 << 2)
    /// `currentVersions` lists every secret's version (AWS, SSM): the freshness service's rounds, not
    /// each answer's expiry, decide when a value is read again.
    public static let versionListing = StoreCapabilities(rawValue: 1 << 3)
}

/// Who a store is, as `.status` shows it: a name and an address, never a token.
public struct StoreDescriptor: Sendable, Equatable {
    public var backend: String
    public var address: String
    public var capabilities: StoreCapabilities

    public init(backend: String, address: String, capabilities: StoreCapabilities) {
        self.backend = backend
        self.address = address
        self.capabilities = capabilities
    }
}
