import Foundation
import SecretsCore

/// The folders of `certificates:`, as far as the file system needs them: their paths, so `.rotate`
/// takes a folder's name, and what each shows of its certificates, for `.status`, `.metrics` and the
/// `user.secretsfs.serial` and `user.secretsfs.expiry` attributes of its files. The files themselves
/// are the fields of a secret the store shows, so they reach the mount, its cache and its change
/// events as any multi-field secret does.
public struct CertificateFolders: Sendable {
    public let paths: Set<SecretPath>
    let statuses: @Sendable () async -> [CertificateStatus]

    public static let none = CertificateFolders(paths: [], statuses: { [] })

    public init(paths: Set<SecretPath>, statuses: @escaping @Sendable () async -> [CertificateStatus]) {
        self.paths = paths
        self.statuses = statuses
    }

    /// The certificate folder `path` is a file of.
    func folder(holding path: SecretPath) -> SecretPath? {
        guard let parent = path.parent, paths.contains(parent) else { return nil }
        return parent
    }
}

extension SecretsFileSystem {
    /// `serial` and `expiry` of a certificate's file, for the version it shows.
    func certificateXattrs(_ path: SecretPath, serial: String) async -> [(String, String)] {
        guard let folder = options.certificates.folder(holding: path) else { return [] }
        let issued = await options.certificates.statuses().first { $0.path == folder }?.issued
        guard let expiry = issued?.first(where: { $0.serial == serial })?.expiresAt else {
            return [("serial", serial)]
        }
        return [("serial", serial), ("expiry", Timestamp.iso8601(expiry))]
    }
}
