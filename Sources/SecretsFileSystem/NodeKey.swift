import SecretsCore

/// What an inode stands for. Inode numbers are handed out on first sight and never reused. A folder
/// keeps its number for the life of the mount; a value file has one number per version (`value`).
///
/// An enum, where the nodes it resolves to are types (`NodeKind`): a key is a value the inode table
/// hashes on every lookup and keeps one of per inode, and the record a new worker inherits
/// (`NodeKeyCodec`, bytes pinned by a test). An existential key would box each one and hash through
/// `AnyHashable`. What a key alone tells is below, each fact in one switch with no `default`, so a
/// new kind of key is this file, its record, and its resolution (`Resolver`).
enum NodeKey: Hashable, Sendable {
    /// The root, a folder, a multi-field secret's folder, or a name not resolved yet: which of these
    /// is decided when the node is resolved, not when it is numbered.
    case path(SecretPath)
    /// A secret file or a field, as of one version. A changed value gets a new number, as a file
    /// replaced by rename gets a new inode: descriptors open on the old number keep reading the old
    /// version (and its pages) while the next lookup of the name finds the new one.
    case value(SecretPath, version: String, isField: Bool)
    /// `<folder>/.versions`
    case versionsRoot(folder: SecretPath)
    /// `<folder>/.versions/<name>`: the versions of one secret.
    case versions(of: SecretPath)
    /// `<folder>/.versions/<name>/<id>`: a file, or a folder of fields.
    case version(of: SecretPath, id: String)
    /// `<folder>/.versions/<name>/<id>/<field>`
    case versionField(of: SecretPath, id: String, field: String)
    /// `<folder>/.versions/<name>/<label>`: a symlink to a version id.
    case label(of: SecretPath, label: String)
    /// A control file (`.rotate`, `.status`, ...; see `ControlFiles`) in `folder`: the root for one
    /// that is there alone.
    case control(ControlFileID, in: SecretPath)
    /// A file of `files:`, one number for the life of the mount: a changed input drops its pages.
    case rendered(SecretPath)
}

/// What a key tells without resolving it.
extension NodeKey {
    /// A value file's path (`value`): the kernel may hold its pages, and a change drops its name.
    var valuePath: SecretPath? {
        guard case .value(let path, _, _) = self else { return nil }
        return path
    }

    /// A control file and the folder it is in.
    var control: (file: any ControlFile, folder: SecretPath)? {
        guard case .control(let id, let folder) = self else { return nil }
        return (id.file, folder)
    }

    /// The secret or field whose value (or, for a folder, whose names) it can show; nil for the nodes
    /// that show none (control files, a `.versions` root). What the judge judges (DESIGN §10).
    var revealed: SecretPath? {
        switch self {
        case .path(let path), .value(let path, _, _), .rendered(let path): return path
        case .versions(let secret), .version(let secret, _), .label(let secret, _): return secret
        // A version's field is that field, not the secret it belongs to.
        case .versionField(let secret, _, let field): return (try? secret.appending(field)) ?? secret
        case .versionsRoot, .control: return nil
        }
    }

    /// Whether an open of it is an open of a value, which the audit log records even when it fails.
    var mayShowValue: Bool {
        switch self {
        case .path, .value, .version, .versionField, .label, .rendered: return true
        case .versionsRoot, .versions, .control: return false
        }
    }

    /// Its name in the audit log: a path, `secret@id`, `secret@id/field` or `secret@label`.
    var auditName: String {
        switch self {
        case .path(let path), .value(let path, _, _), .rendered(let path): return path.string
        case .version(let secret, let id): return "\(secret.string)@\(id)"
        case .versionField(let secret, let id, let field): return "\(secret.string)@\(id)/\(field)"
        case .label(let secret, let label): return "\(secret.string)@\(label)"
        case .versions(let secret): return secret.string
        case .versionsRoot, .control: return ""
        }
    }

    /// The folder that lists it, for `..`.
    var parent: NodeKey {
        switch self {
        case .path(let path): return .path(path.parent ?? .root)
        case .versionsRoot(let folder): return .path(folder)
        case .versions(let secret): return .versionsRoot(folder: secret.parent ?? .root)
        case .version(let secret, _): return .versions(of: secret)
        // As before these had a parent to give: the root.
        case .value, .versionField, .label, .control, .rendered: return .path(.root)
        }
    }

    /// Whether a change of `secret`'s value or versions makes wrong what the kernel holds for it:
    /// the secret's own name and values, its fields, its versions and labels, the rendered files
    /// made from it (`dependents`).
    func changes(with secret: SecretPath, dependents: Set<SecretPath>) -> Bool {
        switch self {
        case .path(let path), .value(let path, _, _): return path == secret || path.parent == secret
        case .versions(let path), .label(let path, _): return path == secret
        // Rendered files keep their number: their pages and attributes go.
        case .rendered(let path): return dependents.contains(path)
        case .versionsRoot, .version, .versionField, .control: return false
        }
    }

    /// Whether a change of `folder`'s listing makes wrong what the kernel holds for it.
    func changes(withListingOf folder: SecretPath) -> Bool {
        switch self {
        case .path(let path), .versionsRoot(let path): return path == folder
        case .value, .versions, .version, .versionField, .label, .control, .rendered: return false
        }
    }

    /// What an announcement of a change (`ChangeAnnouncer`) touches it as: a value or rendered file
    /// is opened for writing, a label (a symlink, which cannot be opened) has its times set; nil for
    /// what is never announced.
    var announcedAs: NodeType? {
        switch self {
        case .value, .rendered: return .file
        case .label: return .symlink
        case .path, .versionsRoot, .versions, .version, .versionField, .control: return nil
        }
    }

    /// The path an announcement touches for it, relative to the mount's root, where it is not a value
    /// file's name: a label's (`db/.versions/password/current`) or a rendered file's.
    var announcedPath: String? {
        switch self {
        case .label(let secret, let label):
            let folder = secret.parent.map { $0.isRoot ? "" : $0.string + "/" } ?? ""
            return "\(folder).versions/\(secret.name)/\(label)"
        case .rendered(let path): return path.string
        case .path, .value, .versionsRoot, .versions, .version, .versionField, .control: return nil
        }
    }
}
