import SecretsCore

extension SecretsFileSystem {
    /// Every entry of a folder node, `.` and `..` first, with offsets the kernel continues from.
    func directoryEntries(of node: Node, key: NodeKey, inode: UInt64, caller: Caller?) async throws -> [DirectoryEntry]
    {
        var names: [(String, NodeKey, NodeType)] = []
        switch node {
        case .folder(let path, let isPrefix, _, let fields):
            var shown = Set<String>()
            if isPrefix || path.isRoot {
                let listing: Listing
                do {
                    listing = try await store.list(path)
                } catch let error as SecretError where error.code == .notFound && options.rendered.isFolder(path) {
                    listing = Listing()
                }
                let renderedNames = Dictionary(uniqueKeysWithValues: options.rendered.children(of: path))
                let types = await peekTypes(listing.secrets.subtracting(listing.folders), in: path)
                for name in listing.folders.union(listing.secrets).union(renderedNames.keys).sorted() {
                    guard let child = showableName(name, of: path) else { continue }
                    if let isFolder = renderedNames[name] {
                        // A rendered file hides a store's name it takes (its lookup finds the rendered one).
                        names.append((name, isFolder ? .path(child) : .rendered(child), isFolder ? .directory : .file))
                        shown.insert(name)
                        continue
                    }
                    let type: NodeType = listing.folders.contains(name) ? .directory : types[name] ?? .unknown
                    names.append((name, .path(child), type))
                    shown.insert(name)
                }
                if capabilities.contains(.versions), options.showVersions {
                    names.append((".versions", .versionsRoot(folder: path), .directory))
                }
            }
            for field in (fields ?? [:]).keys.sorted() {
                guard let fieldPath = showableName(field, of: path) else { continue }
                guard !shown.contains(field) else {
                    resolver.logCollisionOnce(fieldPath, "a field is hidden by a secret or folder of the same name")
                    continue
                }
                names.append((field, .path(fieldPath), .file))
            }
            for id in ControlFiles.ids where id.file.listed && (id.file.inEveryFolder || path.isRoot) {
                names.append((id.file.name, .control(id, in: path), .file))
            }
        case .versionsRoot(let folder):
            for name in try await store.list(folder).secrets.sorted() {
                names.append((name, .versions(of: try folder.appending(name)), .directory))
            }
        case .versions(let secret):
            let type = await peekTypes([secret.name], in: secret.parent ?? .root)[secret.name] ?? .unknown
            for version in try await store.versions(of: secret) {
                names.append((version.id, .version(of: secret, id: version.id), type))
                for label in version.labels {
                    names.append((label, .label(of: secret, label: label), .symlink))
                }
            }
        case .versionFolder(let secret, let id, _, let fields):
            for field in fields.keys.sorted() where showableName(field, of: secret) != nil {
                names.append((field, .versionField(of: secret, id: id, field: field), .file))
            }
        default:
            throw SecretError(.invalidArgument, "not a folder")
        }
        names = names.filter { name, childKey, type in
            name.hasPrefix(".") || visible(childKey, type: Self.isFolderPath(childKey) ? type : .file, to: caller)
        }
        var entries = [
            DirectoryEntry(name: ".", inode: inode, type: .directory, offset: 1),
            DirectoryEntry(name: "..", inode: parentInode(of: key), type: .directory, offset: 2),
        ]
        entries.reserveCapacity(names.count + 2)
        for (name, childKey, type) in names {
            entries.append(
                DirectoryEntry(name: name, inode: inodes.inode(for: childKey), type: type, offset: entries.count + 1))
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
    private func peekTypes(_ names: Set<String>, in folder: SecretPath) async -> [String: NodeType] {
        let paths = names.compactMap { try? folder.appending($0) }
        var types: [String: NodeType] = [:]
        for (path, isFolder) in zip(paths, await store.peekFolders(paths)) {
            if let isFolder { types[path.name] = isFolder ? .directory : .file }
        }
        return types
    }

    private func parentInode(of key: NodeKey) -> UInt64 {
        let parent: NodeKey
        switch key {
        case .path(let path): parent = .path(path.parent ?? .root)
        case .versionsRoot(let folder): parent = .path(folder)
        case .versions(let secret): parent = .versionsRoot(folder: secret.parent ?? .root)
        case .version(let secret, _): parent = .versions(of: secret)
        default: parent = .path(.root)
        }
        return inodes.inode(for: parent)
    }
}
