/// A secret store: the protocol every backend answers and every wrapper (the cache) forwards.
///
/// Implementers must guarantee:
/// - A missing secret, version or field throws `SecretError` with code `.notFound`; a refusal
///   `.permissionDenied`; anything transient (unreachable, timeout, throttled, 5xx)
///   `.unavailable`, which is what the cache may hide behind a stale value.
/// - `list` of a folder that does not exist returns an empty listing, not an error: folders
///   are implied by the secrets below them.
/// - `versions` lists readable versions oldest first, `current` and `previous` among the labels.
/// - `write` and `rotate` either make exactly one new version or change nothing.
/// - No value, token or credential appears in an error message or a log line.
public protocol SecretStore: Sendable {
    var descriptor: StoreDescriptor { get }

    /// The current value, or the version `version` when given.
    func read(_ path: SecretPath, version: String?) async throws -> Secret

    /// The current values of `paths`, each answered on its own: one path's failure is its entry's,
    /// never the whole call's. Stores with a request for many secrets (AWS) override the default,
    /// which reads them one by one, a few at a time.
    func readMany(_ paths: [SecretPath]) async -> BulkRead

    /// The current version id of every secret the store shows (what `list` shows, all folders), from
    /// a listing that carries them (AWS `ListSecrets`), so a cache can tell what changed without
    /// reading values and make its folder listings anew; nil when the store has no such listing.
    func currentVersions() async throws -> VersionListing?

    /// The names directly under `folder` (`.root` for the top).
    func list(_ folder: SecretPath) async throws -> Listing

    /// `list(folder)` and, where the store has them at hand from the same query, the current
    /// secrets directly in `folder` by name (the local store), so that walking a big folder costs one
    /// query, not one a name. A name may be missing from them (it is read on its own then).
    func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent

    /// Every readable version, oldest first. Throws `.unsupported` when the store keeps none.
    func versions(of path: SecretPath) async throws -> [VersionInfo]

    /// Writes a new version holding `content`, creating the secret if needed.
    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo

    /// Replaces the value (or one field) with a new random one, keeping every other field.
    func rotate(_ request: RotationRequest) async throws -> RotationResult

    /// Whether the store answers now.
    func health() async -> HealthReport

    /// Releases connections; the store is not used afterwards.
    func shutdown() async
}

extension SecretStore {
    public func read(_ path: SecretPath) async throws -> Secret {
        try await read(path, version: nil)
    }

    public func readMany(_ paths: [SecretPath]) async -> BulkRead {
        await BulkRead.oneByOne(self, paths)
    }

    public func currentVersions() async throws -> VersionListing? { nil }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        throw SecretError.unsupported("\(descriptor.backend) keeps no versions").at(path)
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        throw SecretError.unsupported("\(descriptor.backend) is read-only").at(path)
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        throw SecretError.unsupported("\(descriptor.backend) cannot rotate").at(request.path)
    }

    public func shutdown() async {}

    public func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent {
        ListingWithCurrent(try await list(folder))
    }
}
