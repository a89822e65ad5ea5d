import SecretsCore

extension SecretsFileSystem {
    /// Every entry of a folder node, `.` and `..` first, with offsets the kernel continues from: the
    /// names its kind lists, less those the judge hides from `caller`.
    func directoryEntries(of node: Node, key: NodeKey, inode: UInt64, caller: Caller?) async throws -> [DirectoryEntry]
    {
        var names = try await node.names(in: self)
        names = names.filter { listed in
            listed.name.hasPrefix(".")
                || visible(listed.key, type: Self.isFolderPath(listed.key) ? listed.type : .file, to: caller)
        }
        var entries = [
            DirectoryEntry(name: ".", inode: inode, type: .directory, offset: 1),
            DirectoryEntry(name: "..", inode: inodes.inode(for: key.parent), type: .directory, offset: 2),
        ]
        entries.reserveCapacity(names.count + 2)
        for listed in names {
            entries.append(
                DirectoryEntry(
                    name: listed.name, inode: inodes.inode(for: listed.key), type: listed.type,
                    offset: entries.count + 1))
        }
        return entries
    }

    /// The path of `name` (a field, or a name a backend listed) in `folder` when it can be a file name
    /// (DESIGN §1.2); nil, and one log line for the life of the mount, when it cannot (`.rotate`,
    /// `a/b`, empty, over 255 bytes). One odd name must not make the whole folder unlistable.
    func showableName(_ name: String, of folder: SecretPath) -> SecretPath? {
        if SecretPath.isValidSegment(name), let path = try? folder.appending(name) { return path }
        resolver.logSkippedNameOnce(name, in: folder)
        return nil
    }

    /// Prefix folders are judged by what may lie below them; a secret's folder by the secret.
    static func isFolderPath(_ key: NodeKey) -> Bool {
        if case .path = key { return true }
        return false
    }

    /// The types of secrets the cache knows (their value, or the listing that brought them), asked
    /// once for the whole folder; the kernel looks up the others.
    func peekTypes(_ names: Set<String>, in folder: SecretPath) async -> [String: NodeType] {
        let paths = names.compactMap { try? folder.appending($0) }
        var types: [String: NodeType] = [:]
        for (path, isFolder) in zip(paths, await store.peekFolders(paths)) {
            if let isFolder { types[path.name] = isFolder ? .directory : .file }
        }
        return types
    }
}
