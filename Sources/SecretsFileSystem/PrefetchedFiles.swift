import SecretsCore

extension SecretsFileSystem {
    /// The files showing `secrets` (a value's file, or a multi-field secret's field files), as paths
    /// below the mount point, for `--prefetch` to look up through the mount once it serves: each
    /// LOOKUP's answer carries the file's pages (`pagesForKernel`), so a program's first read of a
    /// prefetched secret is answered by the kernel alone. None where the kernel keeps no pages, and
    /// none for a secret the cache cannot answer now (it is read on demand, as before).
    public func prefetchedFiles(showing secrets: [SecretPath]) async -> [String] {
        guard options.caching == .kernelOpens else { return [] }
        var files: [String] = []
        for secret in secrets {
            switch try? await resolver.resolvePath(secret) {
            case .folder(let folder)?:
                for field in (folder.fields ?? [:]).keys.sorted() {
                    if let path = showableName(field, of: secret) { files.append(path.string) }
                }
            case let node? where node.value != nil:
                files.append(secret.string)
            default:
                continue
            }
        }
        return files
    }
}
