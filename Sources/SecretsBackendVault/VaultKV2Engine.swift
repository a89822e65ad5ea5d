import SecretsCore

/// KV v2: secret `a/b` is `<mount>/data/<prefix>/a/b`; folders and versions come from `<mount>/metadata`.
/// Version ids are Vault's version numbers; deleted and destroyed versions are not readable. A
/// rotation writes with check-and-set on the version it read.
struct VaultKV2Engine: VaultKVEngine {
    let access: VaultKVAccess

    var listed: [String] { access.mount + ["metadata"] + access.prefix }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        let read = try await readData(path, version: version)
        return Secret(
            content: .fromMap(read.fields.values), version: String(read.version.number),
            createdAt: read.version.createdAt)
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try VaultKVAccess.requireSecretPath(path)
        let apiPath = VaultPaths.encodePath(access.mount + ["metadata"] + access.prefix + path.segments)
        let response = try await access.call(.GET, apiPath, idempotent: true, for: path)
        guard response.status == 200 else {
            throw VaultPaths.statusError(response.status, "the version list", path: path)
        }
        let metadata = try access.decoded(path) { () throws(SecretError) in
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

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try VaultKVAccess.requireSecretPath(path)
        switch try await put(path, content.asMap.mapValues { VaultKV.FieldValue.value($0) }, cas: nil) {
        case .written(let version):
            return VersionInfo(id: String(version.number), createdAt: version.createdAt, labels: [VersionInfo.current])
        case .casMismatch:
            throw SecretError(.conflict, "Vault refused the write with a check-and-set error", path: path)
        }
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let path = request.path
        try VaultKVAccess.requireSecretPath(path)
        // Two rounds: a writer that slipped in between our read and our write costs one re-read, not a
        // failure; a second loss means someone is writing this secret continuously, and we say so.
        for round in 1...2 {
            let current = try await readData(path, version: nil)
            let fields = try access.rotated(current.fields, request, fresh: request.generate())
            switch try await put(path, fields, cas: current.version.number) {
            case .written(let version):
                access.logger.info(
                    "Rotated a Vault secret",
                    metadata: [
                        "path": "\(path)", "field": "\(request.field ?? "-")",
                        "old_version": "\(current.version.number)", "new_version": "\(version.number)",
                    ])
                return RotationResult(
                    path: path, field: request.field, oldVersion: String(current.version.number),
                    newVersion: String(version.number))
            case .casMismatch:
                access.logger.notice(
                    "Vault check-and-set lost to a concurrent write",
                    metadata: ["path": "\(path)", "read_version": "\(current.version.number)", "round": "\(round)"])
            }
        }
        access.logger.error(
            "Giving up rotating a Vault secret: check-and-set lost twice to concurrent writes",
            metadata: ["path": "\(path)"])
        throw SecretError(.conflict, "rotation lost twice to concurrent writes; nothing was changed", path: path)
    }

    private enum PutOutcome {
        case written(VaultKV.Version)
        case casMismatch
    }

    private struct DataRead {
        var fields: VaultKV.Fields
        var version: VaultKV.Version
    }

    private func readData(_ path: SecretPath, version: String?) async throws(SecretError) -> DataRead {
        try VaultKVAccess.requireSecretPath(path)
        var apiPath = dataPath(path)
        if let version {
            // Vault reads `version=0` as the latest: only a positive number names a version.
            guard let number = Int(version), number > 0, String(number) == version else {
                throw SecretError.notFound(path, "no such version")
            }
            apiPath += "?version=\(number)"
        }
        let (response, node) = try await access.exchange(.GET, apiPath, for: path)
        switch response.status {
        case 200:
            break
        case 404:
            // Missing, deleted and destroyed alike: Vault answers 404, with metadata for the last two.
            throw SecretError.notFound(path, version == nil ? "no such secret" : "no such version")
                .fromStandby(await access.client.isStandby(node))
        default:
            throw VaultPaths.statusError(response.status, "the read", path: path)
        }
        let read = try access.decoded(path) { () throws(SecretError) in
            try VaultKV.dataRead(response.body, "the read of \(path)")
        }
        guard let fields = read.fields else {
            throw SecretError.notFound(path, version == nil ? "no such secret" : "no such version")
        }
        return DataRead(fields: fields, version: read.version)
    }

    private func put(_ path: SecretPath, _ fields: [String: VaultKV.FieldValue], cas: Int?) async throws(SecretError)
        -> PutOutcome
    {
        try VaultKVAccess.refuseReserved(fields, path)
        var body = VaultKV.writeBody(fields, cas: cas)
        defer { body.zeroize() }
        // Not retried on 5xx: a write that reached Vault before the failure would make a second version.
        let response = try await access.call(.POST, dataPath(path), body: body, idempotent: false, for: path)
        switch response.status {
        case 200, 204:
            let version = try access.decoded(path) { () throws(SecretError) in
                try VaultKV.written(response.body, "the write of \(path)")
            }
            return .written(version)
        case 400 where cas != nil && VaultKV.errors(response.body).contains(where: { $0.contains("check-and-set") }):
            return .casMismatch
        default:
            throw VaultPaths.statusError(response.status, "the write", path: path)
        }
    }

    private func dataPath(_ path: SecretPath) -> String {
        VaultPaths.encodePath(access.mount + ["data"] + access.prefix + path.segments)
    }
}
