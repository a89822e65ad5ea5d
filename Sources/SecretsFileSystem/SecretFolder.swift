import SecretsCore

/// The root, a folder implied by secret paths (`isPrefix`), a multi-field secret's folder (`fields`
/// set), or both at once when a secret and a path prefix share a name: their entries merge.
struct SecretFolder: NodeKind {
    let path: SecretPath
    let isPrefix: Bool
    /// The multi-field secret's version it shows, if it is one.
    let version: Secret?
    let fields: [String: SecretValue]?

    /// A folder of names below it, and no secret.
    static func prefix(_ path: SecretPath) -> SecretFolder {
        SecretFolder(path: path, isPrefix: true, version: nil, fields: nil)
    }

    var type: NodeType { .directory }
    var secret: Secret? { version }

    /// Owner and mode: the rules' for the files below it open what a reader needs to reach them.
    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        fs.folderAttributes(of: path, inode: inode, modified: version?.createdAt)
    }

    /// The store's secrets and folders, the rendered files of `files:`, `.versions` where shown,
    /// the fields of its secret (a field a name of the store hides is logged), the control files.
    func names(in fs: SecretsFileSystem) async throws -> [ListedName] {
        var names: [ListedName] = []
        var shown = Set<String>()
        if isPrefix || path.isRoot {
            let listing: Listing
            do {
                listing = try await fs.store.list(path)
            } catch let error as SecretError where error.code == .notFound && fs.options.rendered.isFolder(path) {
                listing = Listing()
            }
            let renderedNames = Dictionary(uniqueKeysWithValues: fs.options.rendered.children(of: path))
            let types = await fs.peekTypes(listing.secrets.subtracting(listing.folders), in: path)
            for name in listing.folders.union(listing.secrets).union(renderedNames.keys).sorted() {
                guard let child = fs.showableName(name, of: path) else { continue }
                shown.insert(name)
                if let isFolder = renderedNames[name] {
                    // A rendered file hides a store's name it takes (its lookup finds the rendered one).
                    names.append(
                        ListedName(
                            name: name, key: isFolder ? .path(child) : .rendered(child),
                            type: isFolder ? .directory : .file))
                    continue
                }
                let type: NodeType = listing.folders.contains(name) ? .directory : types[name] ?? .unknown
                names.append(ListedName(name: name, key: .path(child), type: type))
            }
            if fs.capabilities.contains(.versions), fs.options.showVersions {
                names.append(ListedName(name: ".versions", key: .versionsRoot(folder: path), type: .directory))
            }
        }
        for field in (fields ?? [:]).keys.sorted() {
            guard let fieldPath = fs.showableName(field, of: path) else { continue }
            guard !shown.contains(field) else {
                fs.resolver.logCollisionOnce(fieldPath, "a field is hidden by a secret or folder of the same name")
                continue
            }
            names.append(ListedName(name: field, key: .path(fieldPath), type: .file))
        }
        for id in ControlFiles.ids where id.file.listed && (id.file.inEveryFolder || path.isRoot) {
            names.append(ListedName(name: id.file.name, key: .control(id, in: path), type: .file))
        }
        return names
    }

    /// The node of its field at `path` (a name inside it), if its secret has that field.
    func field(at path: SecretPath) -> Node? {
        let name = path.name
        guard let version, let value = fields?[name] else { return nil }
        return .field(FieldFile(secretPath: self.path, name: name, path: path, version: version, bytes: value))
    }
}
