import Foundation
import SecretsBackendKit
import SecretsBackendVault
import SecretsCore
import SecretsFileSystem
import Yams

/// The `leases:` list of the config file: dynamic credentials (Vault's database engine and others, `read:`)
/// and SSH certificates (Vault's SSH CA, `sign:`) shown as folders, with the owner and mode of their files.
extension ConfigFile {
    struct Lease {
        var request: VaultLeaseRequest
        /// `mode`, `uid`, `gid` of the folder's files, as `permissions:` rules that come first.
        var ownership: [PermissionRules.Rule]
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
            leases.append(try Self.lease(mapping, place))
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

    private static func lease(_ mapping: Node.Mapping, _ place: String) throws(SecretError) -> Lease {
        var folder: SecretPath?
        var read: String?
        var sign: String?
        var ssh = SSHSigning()
        var sshKeys: [String] = []
        var prefetch = false
        var revoke: Bool?
        var rule = PermissionRules.Rule(paths: [])
        for (key, value) in mapping {
            let name = key.string ?? "?"
            switch name {
            case "path":
                guard let text = value.string, let path = try? SecretPath(text), !path.isRoot else {
                    throw SecretError(.configuration, "\(place): 'path' must be a folder in the mount, such as db/app")
                }
                folder = path
            case "read", "sign":
                guard let text = value.string, !text.isEmpty else {
                    throw SecretError(
                        .configuration,
                        "\(place): '\(name)' must be an engine path, such as "
                            + (name == "read" ? "database/creds/app" : "ssh/sign/deploy"))
                }
                if name == "read" { read = text } else { sign = text }
            case "prefetch", "revoke":
                guard let on = value.bool else {
                    throw SecretError(.configuration, "\(place): '\(name)' must be true or false")
                }
                if name == "prefetch" { prefetch = on } else { revoke = on }
            case "principals":
                let items = value.sequence.map(Array.init) ?? [value]
                let names = items.compactMap(\.string).filter { !$0.isEmpty && !$0.contains(",") }
                guard names.count == items.count, !names.isEmpty else {
                    throw SecretError(.configuration, "\(place): 'principals' must be a list of user names")
                }
                ssh.principals = names
                sshKeys.append(name)
            case "public_key":
                guard let file = value.string, !file.isEmpty else {
                    throw SecretError(.configuration, "\(place): 'public_key' must be a file's path")
                }
                ssh.publicKey = try publicKeyLine(file, place)
                sshKeys.append(name)
            case "ttl":
                guard let text = value.string, let duration = try? DurationParser.parse(text), duration >= .seconds(1)
                else { throw SecretError(.configuration, "\(place): 'ttl' must be a duration such as 1h") }
                ssh.ttl = duration
                sshKeys.append(name)
            default:
                guard try ownership(name, value, place, into: &rule) else {
                    throw ConfigValueCheck.unknownKey(name, at: place)
                }
            }
        }
        guard let folder else { throw SecretError(.configuration, "\(place) needs a 'path'") }
        guard read == nil || sign == nil else {
            throw SecretError(.configuration, "\(place): give 'read' or 'sign', not both")
        }
        var rules: [PermissionRules.Rule] = []
        let request: VaultLeaseRequest
        do throws(SecretError) {
            if let sign {
                if let revoke, revoke {
                    throw SecretError(
                        .configuration, "'revoke' does not apply to 'sign': a certificate ends at its expiry")
                }
                request = try VaultLeaseRequest(path: folder, sign: sign, ssh: ssh, prefetch: prefetch)
                // ssh refuses a private key that others may read: `id` is 0600 unless the entry says otherwise.
                if rule.mode == nil, ssh.publicKey == nil {
                    rules.append(
                        PermissionRules.Rule(paths: [folder.string + "/id"], mode: 0o600, uid: rule.uid, gid: rule.gid))
                }
            } else {
                guard let read else { throw SecretError(.configuration, "needs a 'read' (or 'sign')") }
                if let key = sshKeys.first {
                    throw SecretError(.configuration, "'\(key)' applies to SSH certificates ('sign') only")
                }
                request = try VaultLeaseRequest(path: folder, read: read, prefetch: prefetch, revoke: revoke ?? true)
            }
        } catch {
            throw SecretError(.configuration, "\(place)\(error.message.hasPrefix("'") ? ": " : " ")\(error.message)")
        }
        if rule.mode != nil || rule.uid != nil || rule.gid != nil {
            rule.paths = [folder.string + "/*"]
            rules.append(rule)
        }
        return Lease(request: request, ownership: rules)
    }

    /// The one `authorized_keys` line of a public key file, without its comment.
    private static func publicKeyLine(_ file: String, _ place: String) throws(SecretError) -> String {
        let text = String(
            decoding: try TrustedFile.read(file, what: "\(place): public_key", limit: 64 << 10), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        let words = lines.first?.split(whereSeparator: \.isWhitespace) ?? []
        guard lines.count == 1, words.count >= 2,
            words[0].hasPrefix("ssh-") || words[0].hasPrefix("ecdsa-")
                || words[0].hasPrefix("sk-"), Data(base64Encoded: String(words[1])) != nil
        else {
            throw SecretError(.configuration, "\(place): public_key \(file) is not one OpenSSH public key line")
        }
        return words[0] + " " + words[1]
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
    /// What `.status` shows of the leases the backend holds (`leases:`); nothing when it has none.
    init(_ leases: (any LeaseHolder)?) {
        guard let leases else {
            self = .none
            return
        }
        self.init { await leases.statuses() }
    }
}
