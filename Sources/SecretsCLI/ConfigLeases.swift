import SecretsBackendVault
import SecretsCore
import SecretsFileSystem
import Yams

/// The `leases:` list of the config file: dynamic credentials (Vault's database engine and others) shown
/// as folders, with the owner and mode of their files.
extension ConfigFile {
    struct Lease {
        var request: VaultLeaseRequest
        /// `mode`, `uid`, `gid` of the folder's files, as a `permissions:` rule that comes first.
        var ownership: PermissionRules.Rule?
    }

    func leases() throws(SecretError) -> [Lease] {
        guard let node = values["leases"] else { return [] }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "\(place(node, "leases")): 'leases' must be a list")
        }
        var leases: [Lease] = []
        for (index, item) in sequence.enumerated() {
            let place = "\(place(item, "leases")): lease \(index + 1)"
            guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
            var folder: SecretPath?
            var read: String?
            var prefetch = false
            var revoke = true
            var rule = PermissionRules.Rule(paths: [])
            for (key, value) in mapping {
                let name = key.string ?? "?"
                switch name {
                case "path":
                    guard let text = value.string, let path = try? SecretPath(text), !path.isRoot else {
                        throw SecretError(
                            .configuration, "\(place): 'path' must be a folder in the mount, such as db/app")
                    }
                    folder = path
                case "read":
                    guard let text = value.string, !text.isEmpty else {
                        throw SecretError(
                            .configuration, "\(place): 'read' must be an engine path, such as database/creds/app")
                    }
                    read = text
                case "prefetch", "revoke":
                    guard let on = value.bool else {
                        throw SecretError(.configuration, "\(place): '\(name)' must be true or false")
                    }
                    if name == "prefetch" { prefetch = on } else { revoke = on }
                case "mode":
                    rule.mode = try Self.mode(value, place)
                case "uid", "gid":
                    guard let number = value.string.flatMap(UInt32.init) else {
                        throw SecretError(.configuration, "\(place): '\(name)' must be a number")
                    }
                    if name == "uid" { rule.uid = number } else { rule.gid = number }
                case "sign", "principals":
                    throw SecretError(.configuration, "\(place): SSH certificates ('\(name)') are not supported yet")
                default:
                    throw ConfigValueCheck.unknownKey(name, at: place)
                }
            }
            guard let folder else { throw SecretError(.configuration, "\(place) needs a 'path'") }
            guard let read else { throw SecretError(.configuration, "\(place) needs a 'read'") }
            do {
                let request = try VaultLeaseRequest(path: folder, read: read, prefetch: prefetch, revoke: revoke)
                let hasOwnership = rule.mode != nil || rule.uid != nil || rule.gid != nil
                rule.paths = [folder.string + "/*"]
                leases.append(Lease(request: request, ownership: hasOwnership ? rule : nil))
            } catch {
                throw SecretError(.configuration, "\(place): \(error.message)")
            }
        }
        for (index, lease) in leases.enumerated() {
            for other in leases[..<index]
            where lease.request.path.hasPrefix(other.request.path) || other.request.path.hasPrefix(lease.request.path) {
                throw SecretError(
                    .configuration,
                    "config file \(path): leases at \(other.request.path) and \(lease.request.path) overlap")
            }
        }
        return leases
    }

    /// A lease's folder holds the credential's fields only: no rendered file or certificate in or on it.
    static func checkLeases(
        _ leases: [Lease], against files: RenderedFiles, certificates: [VaultCertificateRequest]
    ) throws(SecretError) {
        for lease in leases {
            let folder = lease.request.path
            for file in files.all where file.path.hasPrefix(folder) || folder.hasPrefix(file.path) {
                throw SecretError(.configuration, "rendered file \(file.path) and the lease at \(folder) overlap")
            }
            for certificate in certificates
            where certificate.path.hasPrefix(folder) || folder.hasPrefix(certificate.path) {
                throw SecretError(
                    .configuration, "the certificate at \(certificate.path) and the lease at \(folder) overlap")
            }
        }
    }
}

extension LeaseFolders {
    /// What `.status` shows of the leases `store` holds, if it is a Vault store with `leases:`.
    init(_ store: any SecretStore) {
        guard let leases = (store as? VaultSecretStore)?.leases else {
            self = .none
            return
        }
        self.init { await leases.statuses() }
    }
}
