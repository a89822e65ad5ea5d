import Logging
import SecretsCore
import Synchronization

/// A Vault KV mount as a store: listings, health and the mount's engine (KV v1 or v2, asked of Vault
/// unless `--vault-kv-version` says), to which reads, versions, writes and rotations go.
final class VaultKVStore: SecretStore {
    let descriptor: StoreDescriptor
    private let access: VaultKVAccess
    private let skippedNames = LogOnce()
    /// Nil until Vault was asked (a worker that started while Vault was unreachable).
    private let engine: Mutex<(any VaultKVEngine)?>
    /// Whether the last listing of the root found nothing under `--vault-prefix`: a warning (DESIGN
    /// §5.1), learnt from the listings readers cause, so a mount makes no request of its own for it.
    private let emptyPrefix = Mutex(false)
    private let emptyPrefixSaid = LogOnce()

    init(access: VaultKVAccess, displayAddress: String, kvVersion: Int?) {
        self.descriptor = StoreDescriptor(
            backend: "vault", address: displayAddress,
            capabilities: kvVersion == 1 ? [.write, .rotate] : [.versions, .write, .rotate])
        self.access = access
        self.engine = Mutex(kvVersion.map { Self.engine($0, access) })
    }

    private static func engine(_ version: Int, _ access: VaultKVAccess) -> any VaultKVEngine {
        version == 1 ? VaultKV1Engine(access: access) : VaultKV2Engine(access: access)
    }

    /// Which KV engine the mount is, from `GET sys/internal/ui/mounts/<mount>` (which a token with
    /// read on a path below may call). A token that may not ask gets the default mount's engine, 2,
    /// and one line saying how to set it.
    static func askKVVersion(
        client: VaultClient, auth: VaultAuth, mount: [String], logger: Logger
    ) async throws(SecretError) -> Int {
        let token = auth.current().token
        let response = try await client.send(
            .GET, "sys/internal/ui/mounts/" + VaultPaths.encodePath(mount), token: token, idempotent: true)
        let name = mount.joined(separator: "/")
        guard response.status == 200 else {
            // A token may not describe mounts, and Vault answers 403 for a mount that does not exist as
            // for one it may not see: the list of engines tells them apart where the token may read it.
            let engines = try? await client.send(
                .GET, "sys/mounts/" + VaultPaths.encodePath(mount), token: token, idempotent: true)
            if let engines, engines.status == 400,
                String(decoding: engines.body, as: UTF8.self).contains("No secret engine mount")
            {
                throw SecretError(
                    .configuration,
                    "Vault has no secrets engine at \(name)/ (--vault-mount); 'bao secrets list' shows them")
            }
            logger.notice(
                "Vault did not say which KV version the mount is; taking 2 (--vault-kv-version sets it)",
                metadata: ["status": "\(response.status)", "mount": "\(name)"])
            return 2
        }
        return try VaultKV.mountVersion(response.body, "the mount's description", asked: name)
    }

    /// The mount's engine, asking Vault now if the store started without knowing it.
    private func kvEngine() async throws(SecretError) -> any VaultKVEngine {
        if let known = engine.withLock({ $0 }) { return known }
        let found = try await Self.askKVVersion(
            client: access.client, auth: access.auth, mount: access.mount, logger: access.logger)
        let chosen = Self.engine(found, access)
        engine.withLock { $0 = chosen }
        return chosen
    }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await kvEngine().read(path, version: version)
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try VaultKVAccess.requireSecretPath(path)
        return try await kvEngine().versions(of: path)
    }

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try VaultKVAccess.requireSecretPath(path)
        return try await kvEngine().write(path, content: content)
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        try VaultKVAccess.requireSecretPath(request.path)
        return try await kvEngine().rotate(request)
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        let listing = try await listKeys(folder)
        if folder.isRoot, !access.prefix.isEmpty {
            emptyPrefix.withLock { $0 = listing.isEmpty }
            if listing.isEmpty, emptyPrefixSaid.first("empty prefix"), let warning = emptyPrefixWarning {
                access.logger.warning("\(warning)")
            }
        }
        return listing
    }

    /// The line the log, `.status` and `check` give for a prefix with nothing under it.
    private var emptyPrefixWarning: String? {
        guard emptyPrefix.withLock({ $0 }) else { return nil }
        let mountName = access.mount.joined(separator: "/")
        return "nothing under --vault-prefix \(access.prefix.joined(separator: "/")) in the KV mount \(mountName)/; "
            + "'bao kv list \(mountName)/' shows what is there"
    }

    private func listKeys(_ folder: SecretPath) async throws -> Listing {
        let apiPath = VaultPaths.encodePath(try await kvEngine().listed + folder.segments) + "/?list=true"
        let response = try await access.call(.GET, apiPath, idempotent: true, for: folder)
        switch response.status {
        case 200:
            break
        case 404:
            // Vault answers an empty or missing folder with 404: folders exist only through what is below them.
            return Listing()
        default:
            throw VaultPaths.statusError(response.status, "the listing", path: folder)
        }
        let keys = try access.decoded(folder) { () throws(SecretError) in
            try VaultKV.keys(response.body, "the listing of \(folder)")
        }
        var listing = Listing()
        for key in keys {
            let isFolder = key.hasSuffix("/")
            let name = isFolder ? String(key.dropLast()) : key
            guard SecretPath.isValidSegment(name) else {
                let shown = folder.isRoot ? key : folder.string + "/" + key
                if skippedNames.first(shown) {
                    // The name is a path, not a value; its length alone would hide which secret it is.
                    access.logger.warning(
                        "Skipping a Vault key that cannot be a file name", metadata: ["key": "\(shown)"])
                }
                continue
            }
            if isFolder { listing.folders.insert(name) } else { listing.secrets.insert(name) }
        }
        return listing
    }

    func health() async -> HealthReport {
        let client = access.client
        do {
            // Standbys serve reads by forwarding, so they count as healthy.
            let response = try await client.send(
                .GET, "sys/health?standbyok=true&perfstandbyok=true", token: nil, namespaced: false,
                idempotent: false)
            switch response.status {
            case 200, 429, 472, 473:
                // An answering Vault that no longer takes our token serves nothing but EACCES.
                if let problem = await access.auth.problem() {
                    return HealthReport(healthy: false, detail: "Vault at \(client.address) is unsealed; \(problem)")
                }
                return HealthReport(
                    healthy: true, detail: "Vault at \(client.address) is unsealed and answering",
                    warnings: emptyPrefixWarning.map { [$0] } ?? [])
            case 503:
                return HealthReport(healthy: false, detail: "Vault at \(client.address) is sealed")
            case 501:
                return HealthReport(healthy: false, detail: "Vault at \(client.address) is not initialized")
            default:
                return HealthReport(
                    healthy: false, detail: "Vault at \(client.address) answered health with \(response.status)")
            }
        } catch {
            return HealthReport(healthy: false, detail: error.description)
        }
    }

    /// Stops token renewal and closes connections. The store is not used afterwards.
    func shutdown() async {
        await access.auth.shutdown()
        await access.client.shutdown()
    }
}
