import Foundation
import SecretsCore
import SecretsTemplates

/// Who owns a node and its mode: the mount's defaults (`--uid`, `--gid`, `--file-mode`,
/// `--dir-mode`), then the first `permissions:` rule that matches, then a rendered file's own.
extension SecretsFileSystem {
    private var defaultOwnership: Ownership {
        Ownership(mode: options.fileMode, uid: options.uid, gid: options.gid)
    }

    /// What `stat` shows for a file of a secret's value: the defaults, then the rule that matches the
    /// path the judge says it reveals (a version's field is owned as that field, never as its secret).
    func fileAttributes(inode: UInt64, size: Int, modified: Date?) -> NodeAttributes {
        var attributes = NodeAttributes(
            inode: inode, type: .file, permissions: options.fileMode, size: size, modified: modified ?? mountedAt,
            uid: options.uid, gid: options.gid)
        guard !options.permissions.isEmpty || !options.rendered.isEmpty, let key = inodes.key(for: inode),
            let owner = judge.ownership(key, defaults: defaultOwnership)
        else { return attributes }
        attributes.permissions = owner.mode
        attributes.uid = owner.uid
        attributes.gid = owner.gid
        return attributes
    }

    /// What `stat` shows for a folder: the defaults, opened (for a folder of `path`) as far as the
    /// files below it need for their owners to reach them.
    func folderAttributes(of path: SecretPath?, inode: UInt64, modified: Date?) -> NodeAttributes {
        var attributes = NodeAttributes(
            inode: inode, type: .directory, permissions: options.dirMode, size: 0, modified: modified ?? mountedAt,
            uid: options.uid, gid: options.gid)
        guard let path, !options.permissions.isEmpty || !options.rendered.isEmpty else { return attributes }
        let folder = Ownership(mode: options.dirMode, uid: options.uid, gid: options.gid)
        attributes.permissions |= PermissionRules.folderBits(for: ownershipsBelow(path), folder: folder)
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
