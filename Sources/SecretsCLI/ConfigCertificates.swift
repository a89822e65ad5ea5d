import Foundation
import SecretsBackendKit
import SecretsBackendVault
import SecretsCore
import SecretsFileSystem
import Yams

/// The `certificates:` list of the config file: Vault PKI certificates shown as folders.
extension ConfigFile {
    func certificates() throws(SecretError) -> [VaultCertificateRequest] {
        guard let node = values["certificates"] else { return [] }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "\(place(node, "certificates")): 'certificates' must be a list")
        }
        var requests: [VaultCertificateRequest] = []
        for (index, item) in sequence.enumerated() {
            let place = "\(place(item, "certificates")): certificate \(index + 1)"
            guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
            var folder: SecretPath?
            var role: String?
            var commonName: String?
            var altNames: [String] = []
            var ipSANs: [String] = []
            var ttl: Duration?
            var fraction = VaultCertificateRequest.defaultRenewFraction
            var spread = VaultCertificateRequest.defaultRenewSpread
            for (key, value) in mapping {
                let name = key.string ?? "?"
                switch name {
                case "path":
                    guard let text = value.string, let path = try? SecretPath(text), !path.isRoot else {
                        throw SecretError(
                            .configuration, "\(place): 'path' must be a folder in the mount, such as tls/web")
                    }
                    folder = path
                case "role":
                    guard let text = value.string, !text.isEmpty else {
                        throw SecretError(
                            .configuration, "\(place): 'role' must be mount/issue/role, such as pki/issue/web")
                    }
                    role = text
                case "common_name":
                    guard let text = value.string, !text.isEmpty else {
                        throw SecretError(.configuration, "\(place): 'common_name' must be a name")
                    }
                    commonName = text
                case "alt_names", "ip_sans":
                    let items = value.sequence.map(Array.init) ?? [value]
                    let names = items.compactMap(\.string).filter { !$0.isEmpty && !$0.contains(",") }
                    guard names.count == items.count else {
                        throw SecretError(.configuration, "\(place): '\(name)' must be a list of names")
                    }
                    if name == "alt_names" { altNames = names } else { ipSANs = names }
                case "ttl":
                    guard let text = value.string, let duration = try? DurationParser.parse(text), duration > .zero
                    else { throw SecretError(.configuration, "\(place): 'ttl' must be a duration such as 24h") }
                    ttl = duration
                case "renew_fraction", "renew_spread":
                    guard let number = value.string.flatMap(Self.fraction) else {
                        throw SecretError(.configuration, "\(place): '\(name)' must be a number such as 0.5 or 2/3")
                    }
                    if name == "renew_fraction" { fraction = number } else { spread = number }
                default:
                    throw ConfigValueCheck.unknownKey(name, at: place)
                }
            }
            guard let folder else { throw SecretError(.configuration, "\(place) needs a 'path'") }
            guard let role else { throw SecretError(.configuration, "\(place) needs a 'role'") }
            guard let commonName else { throw SecretError(.configuration, "\(place) needs a 'common_name'") }
            do {
                requests.append(
                    try VaultCertificateRequest(
                        path: folder, role: role, commonName: commonName, altNames: altNames, ipSANs: ipSANs,
                        ttl: ttl, renewFraction: fraction, renewSpread: spread))
            } catch {
                throw SecretError(.configuration, "\(place): \(error.message)")
            }
        }
        for (index, request) in requests.enumerated() {
            for other in requests[..<index]
            where request.path.hasPrefix(other.path) || other.path.hasPrefix(request.path) {
                throw SecretError(
                    .configuration, "config file \(path): certificates at \(other.path) and \(request.path) overlap")
            }
        }
        return requests
    }

    /// `0.5`, or `2/3` as Vault Agent's documentation writes its renewal point.
    private static func fraction(_ text: String) -> Double? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let top = Double(parts[0]), let bottom = Double(parts[1]), bottom != 0 {
            return top / bottom
        }
        return parts.count == 1 ? Double(text) : nil
    }

    /// A rendered file cannot sit in or on a certificate's folder: the folder's five files are all it holds.
    static func checkCertificates(_ requests: [VaultCertificateRequest], against files: RenderedFiles)
        throws(SecretError)
    {
        for request in requests {
            for file in files.all where file.path.hasPrefix(request.path) || request.path.hasPrefix(file.path) {
                throw SecretError(
                    .configuration, "rendered file \(file.path) and the certificate at \(request.path) overlap")
            }
        }
    }
}

extension CertificateFolders {
    /// The folders the backend issues certificates for (`certificates:`); none when it has none.
    init(_ made: MadeFolders<CertificateStatus>?) {
        guard let made else {
            self = .none
            return
        }
        self.init(paths: Set(made.paths), statuses: made.statuses)
    }
}
