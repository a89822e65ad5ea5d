import SecretsCore

/// The folders a config declares (`certificates:`, `leases:`) as the store sees them: each is one
/// secret whose fields are its files, nothing lies deeper inside it, and the folders above it are
/// implied in listings.
struct DeclaredFolders: Sendable {
    let paths: Set<SecretPath>

    init(_ paths: some Sequence<SecretPath>) { self.paths = Set(paths) }

    /// Whether `path` is a declared folder.
    func isFolder(_ path: SecretPath) -> Bool { paths.contains(path) }

    /// Whether `path` lies strictly inside a declared folder.
    func isInside(_ path: SecretPath) -> Bool {
        var parent = path.parent
        while let folder = parent {
            if paths.contains(folder) { return true }
            parent = folder.parent
        }
        return false
    }

    /// Either of the two: the path is the declaring entry's, not the KV store's.
    func covers(_ path: SecretPath) -> Bool { isFolder(path) || isInside(path) }

    /// The names the declared folders add to `folder`'s listing: themselves, and the folders above them.
    func listing(of folder: SecretPath) -> Listing { Listing.implied(by: paths, in: folder) }
}
