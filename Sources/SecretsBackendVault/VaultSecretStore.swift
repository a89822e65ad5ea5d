import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import SecretsCore
import SecretsHTTP
import ServiceLifecycle
import Synchronization

/// HashiCorp Vault (or OpenBao) KV version 2, or version 1, as a secret store.
///
/// KV v2: secret `a/b` is `<mount>/data/<prefix>/a/b`; folders come from LIST on `<mount>/metadata`. Data
/// `{"value": v}` alone is a plain value, any other map a secret of fields. Version ids are Vault's
/// version numbers; deleted and destroyed versions are not readable. Rotation writes with check-and-set
/// on the version it read. KV v1: `<mount>/<prefix>/a/b`, LIST on the same path, no versions (a
/// digest of the fields stands for one), rotation writes the whole map back with no check-and-set,
/// which v1 does not have. Call `shutdown()` before dropping the store: it owns an HTTP client.
public final class VaultSecretStore: SecretStore {
    public let descriptor: StoreDescriptor
    private let client: VaultClient
    private let auth: VaultAuth
    private let mount: [String]
    private let prefix: [String]
    private let logger: Logger
    private let skippedNames = LogOnce()
    /// 1 or 2; nil until Vault was asked (a worker that started while Vault was unreachable).
    private let engine: Mutex<Int?>
    /// Token renewal, to run for as long as the store is used (the mount's `ServiceGroup` runs it).
    public let tokenRenewal: VaultTokenRenewal
    /// The PKI certificates the store shows as folders (`certificates:`); nil when there are none.
    public let certificates: VaultCertificates?
    /// The dynamic credentials the store shows as folders (`leases:`); nil when there are none.
    public let leases: VaultLeases?
    /// Whether the last listing of the root found nothing under `--vault-prefix`: a warning (DESIGN
    /// §5.1), learnt from the listings readers cause, so a mount makes no request of its own for it.
    private let emptyPrefix = Mutex(false)
    private let emptyPrefixSaid = LogOnce()

    private init(
        configuration: VaultConfiguration, client: VaultClient, auth: VaultAuth, clock: any TimeSource, logger: Logger,
        kvVersion: Int?, certificates: [VaultCertificateRequest], leases: [VaultLeaseRequest] = []
    ) {
        self.descriptor = StoreDescriptor(
            backend: "vault", address: configuration.displayAddress,
            capabilities: kvVersion == 1 ? [.write, .rotate] : [.versions, .write, .rotate])
        self.engine = Mutex(kvVersion)
        self.client = client
        self.auth = auth
        self.tokenRenewal = VaultTokenRenewal(auth: auth, clock: clock)
        self.certificates =
            certificates.isEmpty
            ? nil : VaultCertificates(certificates, client: client, auth: auth, clock: clock, logger: logger)
        self.leases =
            leases.isEmpty ? nil : VaultLeases(leases, client: client, auth: auth, clock: clock, logger: logger)
        self.mount = configuration.mount
        self.prefix = configuration.prefix
        self.logger = logger
    }

    /// Resolves options against `environment` (flags win over env), logs in, and checks the token (lookup-self).
    /// Configuration problems throw SecretError(.configuration, "one clear sentence") naming the missing/bad
    /// option, never a token.
    public static func connect(
        options: VaultOptions,
        environment: [String: String],
        homeDirectory: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource()
    ) async throws -> VaultSecretStore {
        let configuration = try VaultConfiguration.resolve(
            options, environment: environment, homeDirectory: homeDirectory)
        var logger = logger
        logger[metadataKey: "backend"] = "vault"
        let client = try VaultClient(configuration: configuration, clock: clock, logger: logger)
        let auth = VaultAuth(method: configuration.auth, client: client, clock: clock, logger: logger)
        do {
            try await auth.start()
        } catch let failure where failure.code == .unavailable && options.startUnreachable {
            logger.warning(
                "Vault is unreachable; serving what the cache holds until it answers",
                metadata: ["reason": "\(failure.message)"])
            await auth.startWhenReachable()
        } catch {
            await auth.shutdown()
            await client.shutdown()
            throw error
        }
        var kvVersion = configuration.kvVersion
        if kvVersion == nil, await auth.problem() == nil {
            do {
                kvVersion = try await askKVVersion(
                    client: client, auth: auth, mount: configuration.mount, logger: logger)
            } catch let failure where failure.code == .unavailable && options.startUnreachable {
                kvVersion = nil
            } catch {
                await auth.shutdown()
                await client.shutdown()
                throw error
            }
        }
        logger.info(
            "Connected to Vault",
            metadata: [
                "address": "\(configuration.displayAddress)", "auth": "\(configuration.auth.name)",
                "kv_version": "\(kvVersion.map(String.init) ?? "not known yet")",
            ])
        return VaultSecretStore(
            configuration: configuration, client: client, auth: auth, clock: clock, logger: logger,
            kvVersion: kvVersion, certificates: options.certificates, leases: options.leases)
    }

    /// Which KV engine the mount is, from `GET sys/internal/ui/mounts/<mount>` (which a token with
    /// read on a path below may call). A token that may not ask gets the default mount's engine, 2,
    /// and one line saying how to set it.
    private static func askKVVersion(
        client: VaultClient, auth: VaultAuth, mount: [String], logger: Logger
    ) async throws(SecretError) -> Int {
        let (token, _) = await auth.current()
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

    /// The KV version, asking Vault now if the store started without it.
    private func kvVersion() async throws(SecretError) -> Int {
        if let known = engine.withLock({ $0 }) { return known }
        let found = try await Self.askKVVersion(client: client, auth: auth, mount: mount, logger: logger)
        engine.withLock { $0 = found }
        return found
    }

    // MARK: SecretStore

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        if let leases {
            if leases.folders.isFolder(path) { return try await leases.read(path, version: version) }
            if leases.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a lease") }
        }
        if let certificates {
            if certificates.folders.isFolder(path) { return try await certificates.read(path, version: version) }
            if certificates.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a certificate") }
        }
        if try await kvVersion() == 1 {
            let fields = try await readV1(path).values
            let digest = VaultKV.fingerprint(fields)
            if let version, version != digest { throw SecretError.notFound(path, "KV v1 keeps no versions") }
            return Secret(content: .fromMap(fields), version: digest, createdAt: nil)
        }
        let read = try await readData(path, version: version)
        return Secret(
            content: .fromMap(read.fields), version: String(read.version.number), createdAt: read.version.createdAt)
    }

    public func list(_ folder: SecretPath) async throws -> Listing {
        guard certificates != nil || leases != nil else { return try await listKV(folder) }
        // A certificate's or lease's folder holds its fields, which the file system takes from the secret.
        if certificates?.folders.covers(folder) == true || leases?.folders.covers(folder) == true {
            return Listing()
        }
        var added = certificates?.folders.listing(of: folder) ?? Listing()
        if let more = leases?.folders.listing(of: folder) {
            added.secrets.formUnion(more.secrets)
            added.folders.formUnion(more.folders)
        }
        var listing: Listing
        do {
            listing = try await listKV(folder)
        } catch let error as SecretError where error.code == .permissionDenied && !added.isEmpty {
            // A token that may issue certificates but not list KV still shows its certificates.
            listing = Listing()
        }
        listing.secrets.formUnion(added.secrets)
        listing.folders.formUnion(added.folders)
        return listing
    }

    private func listKV(_ folder: SecretPath) async throws -> Listing {
        let listing = try await listKVKeys(folder)
        if folder.isRoot, !prefix.isEmpty {
            emptyPrefix.withLock { $0 = listing.isEmpty }
            if listing.isEmpty, emptyPrefixSaid.first("empty prefix"), let warning = emptyPrefixWarning {
                logger.warning("\(warning)")
            }
        }
        return listing
    }

    /// The line the log, `.status` and `check` give for a prefix with nothing under it.
    private var emptyPrefixWarning: String? {
        guard emptyPrefix.withLock({ $0 }) else { return nil }
        let mountName = mount.joined(separator: "/")
        return "nothing under --vault-prefix \(prefix.joined(separator: "/")) in the KV mount \(mountName)/; "
            + "'bao kv list \(mountName)/' shows what is there"
    }

    private func listKVKeys(_ folder: SecretPath) async throws -> Listing {
        let listed = try await kvVersion() == 1 ? mount + prefix : mount + ["metadata"] + prefix
        let apiPath = VaultPaths.encodePath(listed + folder.segments) + "/?list=true"
        let response = try await call(.GET, apiPath, idempotent: true, for: folder)
        switch response.status {
        case 200:
            break
        case 404:
            // Vault answers an empty or missing folder with 404: folders exist only through what is below them.
            return Listing()
        default:
            throw VaultPaths.statusError(response.status, "the listing", path: folder)
        }
        let keys = try decoded(folder) { () throws(SecretError) in
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
                    logger.warning("Skipping a Vault key that cannot be a file name", metadata: ["key": "\(shown)"])
                }
                continue
            }
            if isFolder { listing.folders.insert(name) } else { listing.secrets.insert(name) }
        }
        return listing
    }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try requireSecretPath(path)
        if let leases {
            if leases.folders.isFolder(path) { return try await leases.versions(of: path) }
            if leases.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a lease") }
        }
        if let certificates {
            if certificates.folders.isFolder(path) { return try await certificates.versions(of: path) }
            if certificates.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a certificate") }
        }
        if try await kvVersion() == 1 { throw SecretError.unsupported("Vault KV v1 keeps no versions").at(path) }
        let apiPath = VaultPaths.encodePath(mount + ["metadata"] + prefix + path.segments)
        let response = try await call(.GET, apiPath, idempotent: true, for: path)
        guard response.status == 200 else {
            throw VaultPaths.statusError(response.status, "the version list", path: path)
        }
        let metadata = try decoded(path) { () throws(SecretError) in
            try VaultKV.metadata(response.body, "the versions of \(path)")
        }
        var versions = metadata.readable.map { VersionInfo(id: String($0.number), createdAt: $0.createdAt) }
        // `current` is Vault's current version only while it is readable: a deleted current version makes
        // the secret unreadable, and a label pointing at an older version would claim otherwise.
        if let current = metadata.currentVersion,
            let index = metadata.readable.firstIndex(where: { $0.number == current })
        {
            versions[index].labels.append(VersionInfo.current)
            if index > 0 { versions[index - 1].labels.append(VersionInfo.previous) }
        }
        return versions
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try requireSecretPath(path)
        if let certificates, certificates.folders.covers(path) {
            throw SecretError.unsupported("a certificate is issued by Vault, not written").at(path)
        }
        if let leases, leases.folders.covers(path) {
            throw SecretError.unsupported("a leased credential is made by Vault, not written").at(path)
        }
        if try await kvVersion() == 1 {
            try await putV1(path, content.asMap.mapValues { VaultKV.FieldValue.value($0) })
            return VersionInfo(id: VaultKV.fingerprint(content.asMap), createdAt: nil, labels: [VersionInfo.current])
        }
        switch try await put(path, content.asMap.mapValues { VaultKV.FieldValue.value($0) }, cas: nil) {
        case .written(let version):
            return VersionInfo(id: String(version.number), createdAt: version.createdAt, labels: [VersionInfo.current])
        case .casMismatch:
            throw SecretError(.conflict, "Vault refused the write with a check-and-set error", path: path)
        }
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let path = request.path
        try requireSecretPath(path)
        if let leases {
            // Any of the folder's files names the whole credential: a new one changes them together.
            if leases.folders.isFolder(path) { return try await leases.rotate(request) }
            if leases.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a lease") }
        }
        if let certificates {
            // Any of the folder's files names the whole certificate: its files change together.
            if certificates.folders.isFolder(path) { return try await certificates.rotate(request) }
            if certificates.folders.isInside(path) { throw SecretError.notFound(path, "no such file of a certificate") }
        }
        if try await kvVersion() == 1 { return try await rotateV1(request) }
        // Two rounds: a writer that slipped in between our read and our write costs one re-read, not a
        // failure; a second loss means someone is writing this secret continuously, and we say so.
        for round in 1...2 {
            let current = try await readData(path, version: nil)
            var fields: [String: VaultKV.FieldValue] = [:]
            for (name, value) in current.fields {
                fields[name] = current.jsonFields.contains(name) ? .json(value) : .value(value)
            }
            let fresh = request.generate()
            do {
                // Checks the request against the secret's shape: a field of a plain value, no field of many.
                _ = try SecretContent.fromMap(current.fields).rotated(field: request.field, to: fresh)
            } catch {
                throw error.at(path)
            }
            // Only the rotated field changes; every other field goes back exactly as it was read, JSON
            // numbers and booleans included.
            fields[request.field ?? "value"] = .value(fresh)
            switch try await put(path, fields, cas: current.version.number) {
            case .written(let version):
                logger.info(
                    "Rotated a Vault secret",
                    metadata: [
                        "path": "\(path)", "field": "\(request.field ?? "-")",
                        "old_version": "\(current.version.number)", "new_version": "\(version.number)",
                    ])
                return RotationResult(
                    path: path, field: request.field, oldVersion: String(current.version.number),
                    newVersion: String(version.number))
            case .casMismatch:
                logger.notice(
                    "Vault check-and-set lost to a concurrent write",
                    metadata: ["path": "\(path)", "read_version": "\(current.version.number)", "round": "\(round)"])
            }
        }
        logger.error(
            "Giving up rotating a Vault secret: check-and-set lost twice to concurrent writes",
            metadata: ["path": "\(path)"])
        throw SecretError(.conflict, "rotation lost twice to concurrent writes; nothing was changed", path: path)
    }

    public func health() async -> HealthReport {
        do {
            // Standbys serve reads by forwarding, so they count as healthy.
            let response = try await client.send(
                .GET, "sys/health?standbyok=true&perfstandbyok=true", token: nil, namespaced: false,
                idempotent: false)
            switch response.status {
            case 200, 429, 472, 473:
                // An answering Vault that no longer takes our token serves nothing but EACCES.
                if let problem = await auth.problem() {
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
    public func shutdown() async {
        await auth.shutdown()
        await client.shutdown()
    }

    // MARK: private

    private enum PutOutcome {
        case written(VaultKV.Version)
        case casMismatch
    }

    private struct DataRead {
        var fields: [String: SecretValue]
        var jsonFields: Set<String>
        var version: VaultKV.Version
    }

    private func readData(_ path: SecretPath, version: String?) async throws(SecretError) -> DataRead {
        try requireSecretPath(path)
        var apiPath = dataPath(path)
        if let version {
            // Vault reads `version=0` as the latest: only a positive number names a version.
            guard let number = Int(version), number > 0, String(number) == version else {
                throw SecretError.notFound(path, "no such version")
            }
            apiPath += "?version=\(number)"
        }
        let (response, node) = try await exchange(.GET, apiPath, for: path)
        switch response.status {
        case 200:
            break
        case 404:
            // Missing, deleted and destroyed alike: Vault answers 404, with metadata for the last two.
            throw SecretError.notFound(path, version == nil ? "no such secret" : "no such version")
                .fromStandby(await client.isStandby(node))
        default:
            throw VaultPaths.statusError(response.status, "the read", path: path)
        }
        let read = try decoded(path) { () throws(SecretError) in
            try VaultKV.dataRead(response.body, "the read of \(path)")
        }
        guard let fields = read.fields else {
            throw SecretError.notFound(path, version == nil ? "no such secret" : "no such version")
        }
        return DataRead(fields: fields.values, jsonFields: fields.jsonFields, version: read.version)
    }

    private func readV1(_ path: SecretPath) async throws(SecretError) -> VaultKV.Fields {
        try requireSecretPath(path)
        let (response, node) = try await exchange(
            .GET, VaultPaths.encodePath(mount + prefix + path.segments), for: path)
        switch response.status {
        case 200: break
        case 404: throw SecretError.notFound(path, "no such secret").fromStandby(await client.isStandby(node))
        default: throw VaultPaths.statusError(response.status, "the read", path: path)
        }
        return try decoded(path) { () throws(SecretError) in
            try VaultKV.dataReadV1(response.body, "the read of \(path)")
        }
    }

    private func putV1(_ path: SecretPath, _ fields: [String: VaultKV.FieldValue]) async throws(SecretError) {
        if fields.keys.contains(VaultKV.base64FieldsKey) {
            throw SecretError(.invalidArgument, "field name \(VaultKV.base64FieldsKey) is reserved", path: path)
        }
        var body = VaultKV.writeBodyV1(fields)
        defer { body.zeroize() }
        let response = try await call(
            .POST, VaultPaths.encodePath(mount + prefix + path.segments), body: body, idempotent: false, for: path)
        guard [200, 204].contains(response.status) else {
            throw VaultPaths.statusError(response.status, "the write", path: path)
        }
    }

    /// KV v1 has no check-and-set: the map read is written back whole with the one field changed, and a
    /// writer between the two is overwritten (docs/VAULT.md says so).
    private func rotateV1(_ request: RotationRequest) async throws -> RotationResult {
        let path = request.path
        let current = try await readV1(path)
        let fresh = request.generate()
        do {
            _ = try SecretContent.fromMap(current.values).rotated(field: request.field, to: fresh)
        } catch {
            throw error.at(path)
        }
        var fields: [String: VaultKV.FieldValue] = [:]
        for (name, value) in current.values {
            fields[name] = current.jsonFields.contains(name) ? .json(value) : .value(value)
        }
        fields[request.field ?? "value"] = .value(fresh)
        try await putV1(path, fields)
        var written = current.values
        written[request.field ?? "value"] = fresh
        let old = VaultKV.fingerprint(current.values)
        let new = VaultKV.fingerprint(written)
        logger.info(
            "Rotated a Vault KV v1 secret",
            metadata: [
                "path": "\(path)", "field": "\(request.field ?? "-")", "old_version": "\(old)", "new_version": "\(new)",
            ])
        return RotationResult(path: path, field: request.field, oldVersion: old, newVersion: new)
    }

    private func put(_ path: SecretPath, _ fields: [String: VaultKV.FieldValue], cas: Int?) async throws(SecretError)
        -> PutOutcome
    {
        if fields.keys.contains(VaultKV.base64FieldsKey) {
            throw SecretError(.invalidArgument, "field name \(VaultKV.base64FieldsKey) is reserved", path: path)
        }
        var body = VaultKV.writeBody(fields, cas: cas)
        defer { body.zeroize() }
        // Not retried on 5xx: a write that reached Vault before the failure would make a second version.
        let response = try await call(.POST, dataPath(path), body: body, idempotent: false, for: path)
        switch response.status {
        case 200, 204:
            let version = try decoded(path) { () throws(SecretError) in
                try VaultKV.written(response.body, "the write of \(path)")
            }
            return .written(version)
        case 400 where cas != nil && VaultKV.errors(response.body).contains(where: { $0.contains("check-and-set") }):
            return .casMismatch
        default:
            throw VaultPaths.statusError(response.status, "the write", path: path)
        }
    }

    /// One call with the current token, named by `path` in errors.
    private func call(
        _ method: HTTPMethod,
        _ apiPath: String,
        body: [UInt8]? = nil,
        idempotent: Bool,
        for path: SecretPath
    ) async throws(SecretError) -> HTTPAnswer {
        do {
            return try await client.send(method, apiPath, body: body, idempotent: idempotent, auth: auth)
        } catch {
            throw error.at(path)
        }
    }

    /// A read, and the node that answered it (a standby's "no such secret" may be behind).
    private func exchange(_ method: HTTPMethod, _ apiPath: String, for path: SecretPath) async throws(SecretError) -> (
        answer: HTTPAnswer, node: Int
    ) {
        do {
            return try await client.exchange(method, apiPath, idempotent: true, auth: auth)
        } catch {
            throw error.at(path)
        }
    }

    /// Decodes an answer; a shape we do not understand is logged (never its body) and thrown.
    private func decoded<T>(_ path: SecretPath, _ decode: () throws(SecretError) -> T) throws(SecretError) -> T {
        do {
            return try decode()
        } catch {
            logger.error("Vault answer not understood", metadata: ["path": "\(path)", "error": "\(error.message)"])
            throw error.at(path)
        }
    }

    private func dataPath(_ path: SecretPath) -> String {
        VaultPaths.encodePath(mount + ["data"] + prefix + path.segments)
    }

    private func requireSecretPath(_ path: SecretPath) throws(SecretError) {
        if path.isRoot { throw SecretError.notFound(path, "the root is a folder, not a secret") }
    }
}
