import struct Foundation.Date

/// What the mount shows of a certificate it issues (`certificates:`), in `.status`, `.metrics` and the
/// xattrs of its files: serials and times, never the certificate's key.
public struct CertificateStatus: Sendable, Equatable {
    public struct Issued: Sendable, Equatable {
        public var serial: String
        public var expiresAt: Date

        public init(serial: String, expiresAt: Date) {
            self.serial = serial
            self.expiresAt = expiresAt
        }
    }

    /// The certificate's folder in the mount.
    public var path: SecretPath
    /// The certificates still kept, oldest first: the last is the one the folder shows, the ones
    /// before it are read by descriptors opened before a re-issue.
    public var issued: [Issued]
    /// Why the last issue failed, while no later one worked: the kind and Vault's words, never a value.
    public var problem: String?

    public init(path: SecretPath, issued: [Issued], problem: String? = nil) {
        self.path = path
        self.issued = issued
        self.problem = problem
    }
}
