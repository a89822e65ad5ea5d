import SecretsCore
import SecretsTemplates

/// Who owns a node and its mode: the mount's defaults (`--uid`, `--gid`, `--file-mode`,
/// `--dir-mode`), then the first `permissions:` rule that matches, then a rendered file's own.
extension SecretsFileSystem {
    private var defaultOwnership: Ownership {
        Ownership(mode: options.fileMode, uid: options.uid, gid: options.gid)
    }

    /// `attributes` as the defaults made them, with the rules applied.
    func withOwnership(_ attributes: NodeAttributes, of node: Node) -> NodeAttributes {
        guard !options.permissions.isEmpty || !options.rendered.isEmpty else { return attributes }
        var attributes = attributes
        if case .folder(let path, _, _, _) = node {
            let folder = Ownership(mode: options.dirMode, uid: options.uid, gid: options.gid)
            attributes.permissions |= PermissionRules.folderBits(for: ownershipsBelow(path), folder: folder)
            return attributes
        }
        // Files only: a version's field is owned as that field (the judge decides), never as its secret.
        switch node {
        case .secretFile, .field, .versionFile, .versionField: break
        default: return attributes
        }
        guard let key = inodes.key(for: attributes.inode),
            let owner = judge.ownership(key, defaults: defaultOwnership)
        else { return attributes }
        attributes.permissions = owner.mode
        attributes.uid = owner.uid
        attributes.gid = owner.gid
        return attributes
    }

    /// A rendered file's owner and mode: its own where `files:` gives them, else the rules'.
    func renderedOwnership(_ path: SecretPath) -> Ownership {
        let ruled = options.permissions.file(path, defaults: defaultOwnership)
        guard let file = options.rendered.file(at: path) else { return ruled }
        return Ownership(mode: file.mode ?? ruled.mode, uid: file.uid ?? ruled.uid, gid: file.gid ?? ruled.gid)
    }

    private func ownershipsBelow(_ folder: SecretPath) -> [Ownership] {
        options.permissions.ownershipsBelow(folder, defaults: defaultOwnership)
            + options.rendered.files.keys.filter { $0 != folder && $0.hasPrefix(folder) }.map(renderedOwnership)
    }
}
