import SecretsCore

/// What serves the folders a config declares (`certificates:`, `leases:`): each folder one secret whose
/// fields are its files, its versions what it keeps, its rotation a new one made by Vault.
protocol DeclaredFolderSource: Sendable {
    var folders: DeclaredFolders { get }
    /// What one folder holds, for the errors about its files: `certificate`, `lease`.
    var kind: String { get }
    /// Why a write to one of its folders is refused.
    var writeRefusal: String { get }
    func read(_ path: SecretPath, version: String?) async throws -> Secret
    func versions(of path: SecretPath) async throws -> [VersionInfo]
    func rotate(_ request: RotationRequest) async throws -> RotationResult
}

/// A wrapper store: the declared folders served by their sources, everything else by the store below
/// (the KV mount), whose listings show the declared folders and the folders above them too.
struct DeclaredFoldersStore: SecretStore {
    let upstream: any SecretStore
    /// Tried in order; no two declare the same folder (the config is refused at load).
    let sources: [any DeclaredFolderSource]

    var descriptor: StoreDescriptor { upstream.descriptor }

    /// The source of `path` when it is a declared folder; nil when it is none's. A path inside one has
    /// no secret of its own: the folder's files are the fields of the folder's secret.
    private func source(of path: SecretPath) throws(SecretError) -> (any DeclaredFolderSource)? {
        for source in sources {
            if source.folders.isFolder(path) { return source }
            if source.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a \(source.kind)") }
        }
        return nil
    }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        guard let source = try source(of: path) else { return try await upstream.read(path, version: version) }
        return try await source.read(path, version: version)
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        guard let source = try source(of: path) else { return try await upstream.versions(of: path) }
        return try await source.versions(of: path)
    }

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        if let source = sources.first(where: { $0.folders.covers(path) }) {
            throw SecretError.unsupported(source.writeRefusal).at(path)
        }
        return try await upstream.write(path, content: content)
    }

    /// Any of a folder's files names the whole: its files change together.
    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        guard let source = try source(of: request.path) else { return try await upstream.rotate(request) }
        return try await source.rotate(request)
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        // A declared folder holds its fields, which the file system takes from the secret.
        if sources.contains(where: { $0.folders.covers(folder) }) { return Listing() }
        var added = Listing()
        for source in sources {
            let more = source.folders.listing(of: folder)
            added.secrets.formUnion(more.secrets)
            added.folders.formUnion(more.folders)
        }
        var listing: Listing
        do {
            listing = try await upstream.list(folder)
        } catch let error as SecretError where error.code == .permissionDenied && !added.isEmpty {
            // A token that may issue certificates but not list KV still shows its certificates.
            listing = Listing()
        }
        listing.secrets.formUnion(added.secrets)
        listing.folders.formUnion(added.folders)
        return listing
    }

    func health() async -> HealthReport { await upstream.health() }

    func shutdown() async { await upstream.shutdown() }
}

extension VaultCertificates: DeclaredFolderSource {
    nonisolated var kind: String { "certificate" }
    nonisolated var writeRefusal: String { "a certificate is issued by Vault, not written" }
}

extension VaultLeases: DeclaredFolderSource {
    nonisolated var kind: String { "lease" }
    nonisolated var writeRefusal: String { "a leased credential is made by Vault, not written" }
}
