import Logging
import NIOHTTP1
import SecretsCore
import SecretsHTTP

/// What KV v1 and KV v2 do differently: where a secret and a folder are, what a version is, how a
/// write and a rotation go. `VaultKVStore` asks Vault which one a mount is and hands each call to it.
protocol VaultKVEngine: Sendable {
    /// The API path whose LIST shows `folder`'s keys, less the folder itself.
    var listed: [String] { get }
    func read(_ path: SecretPath, version: String?) async throws -> Secret
    func versions(of path: SecretPath) async throws -> [VersionInfo]
    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo
    func rotate(_ request: RotationRequest) async throws -> RotationResult
}

/// What both engines call Vault with: the client and token, the KV mount and the prefix under it.
struct VaultKVAccess: Sendable {
    let client: VaultClient
    let auth: VaultAuth
    let mount: [String]
    let prefix: [String]
    let logger: Logger

    /// One call with the current token, named by `path` in errors.
    func call(
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
    func exchange(_ method: HTTPMethod, _ apiPath: String, for path: SecretPath) async throws(SecretError) -> (
        answer: HTTPAnswer, node: Int
    ) {
        do {
            return try await client.exchange(method, apiPath, idempotent: true, auth: auth)
        } catch {
            throw error.at(path)
        }
    }

    /// Decodes an answer; a shape we do not understand is logged (never its body) and thrown.
    func decoded<T>(_ path: SecretPath, _ decode: () throws(SecretError) -> T) throws(SecretError) -> T {
        do {
            return try decode()
        } catch {
            logger.error("Vault answer not understood", metadata: ["path": "\(path)", "error": "\(error.message)"])
            throw error.at(path)
        }
    }

    /// The fields a rotation writes back: every one exactly as it was read, JSON numbers and booleans
    /// included, and the rotated one (`value` for a plain secret) new. Checks the request against the
    /// secret's shape first: a field of a plain value, no field of many.
    func rotated(_ current: VaultKV.Fields, _ request: RotationRequest, fresh: SecretValue) throws -> [String: VaultKV
        .FieldValue]
    {
        do {
            _ = try SecretContent.fromMap(current.values).rotated(field: request.field, to: fresh)
        } catch {
            throw error.at(request.path)
        }
        var fields: [String: VaultKV.FieldValue] = [:]
        for (name, value) in current.values {
            fields[name] = current.jsonFields.contains(name) ? .json(value) : .value(value)
        }
        fields[request.field ?? "value"] = .value(fresh)
        return fields
    }

    static func refuseReserved(_ fields: [String: VaultKV.FieldValue], _ path: SecretPath) throws(SecretError) {
        if fields.keys.contains(VaultKV.base64FieldsKey) {
            throw SecretError(.invalidArgument, "field name \(VaultKV.base64FieldsKey) is reserved", path: path)
        }
    }

    static func requireSecretPath(_ path: SecretPath) throws(SecretError) {
        if path.isRoot { throw SecretError.notFound(path, "the root is a folder, not a secret") }
    }
}

/// KV v1: `<mount>/<prefix>/a/b`, LIST on the same path, no versions (a digest of the fields stands for
/// one), and a rotation writes the whole map back with no check-and-set, which v1 does not have.
struct VaultKV1Engine: VaultKVEngine {
    let access: VaultKVAccess

    var listed: [String] { access.mount + access.prefix }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        let fields = try await readFields(path).values
        let digest = VaultKV.fingerprint(fields)
        if let version, version != digest { throw SecretError.notFound(path, "KV v1 keeps no versions") }
        return Secret(content: .fromMap(fields), version: digest, createdAt: nil)
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try VaultKVAccess.requireSecretPath(path)
        throw SecretError.unsupported("Vault KV v1 keeps no versions").at(path)
    }

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try VaultKVAccess.requireSecretPath(path)
        try await put(path, content.asMap.mapValues { VaultKV.FieldValue.value($0) })
        return VersionInfo(id: VaultKV.fingerprint(content.asMap), createdAt: nil, labels: [VersionInfo.current])
    }

    /// A writer between the read and the write is overwritten (docs/VAULT.md says so).
    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let path = request.path
        try VaultKVAccess.requireSecretPath(path)
        let current = try await readFields(path)
        let fresh = request.generate()
        try await put(path, try access.rotated(current, request, fresh: fresh))
        var written = current.values
        written[request.field ?? "value"] = fresh
        let old = VaultKV.fingerprint(current.values)
        let new = VaultKV.fingerprint(written)
        access.logger.info(
            "Rotated a Vault KV v1 secret",
            metadata: [
                "path": "\(path)", "field": "\(request.field ?? "-")", "old_version": "\(old)", "new_version": "\(new)",
            ])
        return RotationResult(path: path, field: request.field, oldVersion: old, newVersion: new)
    }

    private func readFields(_ path: SecretPath) async throws(SecretError) -> VaultKV.Fields {
        try VaultKVAccess.requireSecretPath(path)
        let (response, node) = try await access.exchange(.GET, secretPath(path), for: path)
        switch response.status {
        case 200: break
        case 404: throw SecretError.notFound(path, "no such secret").fromStandby(await access.client.isStandby(node))
        default: throw VaultPaths.statusError(response.status, "the read", path: path)
        }
        return try access.decoded(path) { () throws(SecretError) in
            try VaultKV.dataReadV1(response.body, "the read of \(path)")
        }
    }

    private func put(_ path: SecretPath, _ fields: [String: VaultKV.FieldValue]) async throws(SecretError) {
        try VaultKVAccess.refuseReserved(fields, path)
        var body = VaultKV.writeBodyV1(fields)
        defer { body.zeroize() }
        let response = try await access.call(.POST, secretPath(path), body: body, idempotent: false, for: path)
        guard [200, 204].contains(response.status) else {
            throw VaultPaths.statusError(response.status, "the write", path: path)
        }
    }

    private func secretPath(_ path: SecretPath) -> String {
        VaultPaths.encodePath(access.mount + access.prefix + path.segments)
    }
}
