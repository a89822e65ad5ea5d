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
        let file: SecretPath?
        switch node {
        case .secretFile(let path, _, _): file = path
        case .field(let parent, let name, _, _): file = try? parent.appending(name)
        // A version reads like the secret it is a version of.
        case .versionFile(let secret, _, _, _), .versionField(let secret, _, _, _, _): file = secret
        case .folder(let path, _, _, _):
            let folder = Ownership(mode: options.dirMode, uid: options.uid, gid: options.gid)
            attributes.permissions |= PermissionRules.folderBits(for: ownershipsBelow(path), folder: folder)
            return attributes
        default: return attributes
        }
        guard let file else { return attributes }
        let owner = options.permissions.file(file, defaults: defaultOwnership)
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
