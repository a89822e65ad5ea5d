import Foundation
import SecretsCore

/// A folder under `.versions`: the mount's owner and folder mode, dated by the version it shows.
protocol VersionsFolderKind: NodeKind {}

extension VersionsFolderKind {
    var type: NodeType { .directory }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        fs.folderAttributes(of: nil, inode: inode, modified: secret?.createdAt)
    }
}

/// `<folder>/.versions`: a folder of the secrets of `folder` that have versions.
struct VersionsRoot: VersionsFolderKind {
    let folder: SecretPath

    func names(in fs: SecretsFileSystem) async throws -> [ListedName] {
        try await fs.store.list(folder).secrets.sorted().map {
            ListedName(name: $0, key: .versions(of: try folder.appending($0)), type: .directory)
        }
    }
}

/// `<folder>/.versions/<name>`: one name per version id, one symlink per label.
struct VersionList: VersionsFolderKind {
    let secretPath: SecretPath

    /// A version has the type the current value has, where the cache knows it.
    func names(in fs: SecretsFileSystem) async throws -> [ListedName] {
        let name = secretPath.name
        let type = await fs.peekTypes([name], in: secretPath.parent ?? .root)[name] ?? .unknown
        var names: [ListedName] = []
        for version in try await fs.store.versions(of: secretPath) {
            names.append(ListedName(name: version.id, key: .version(of: secretPath, id: version.id), type: type))
            for label in version.labels {
                names.append(ListedName(name: label, key: .label(of: secretPath, label: label), type: .symlink))
            }
        }
        return names
    }
}

/// `<folder>/.versions/<name>/<id>` of a multi-field secret: a folder of that version's fields.
struct VersionFolder: VersionsFolderKind {
    let secretPath: SecretPath
    let id: String
    let version: Secret
    let fields: [String: SecretValue]

    var secret: Secret? { version }

    func names(in fs: SecretsFileSystem) async throws -> [ListedName] {
        fields.keys.sorted().compactMap { field in
            guard fs.showableName(field, of: secretPath) != nil else { return nil }
            return ListedName(name: field, key: .versionField(of: secretPath, id: id, field: field), type: .file)
        }
    }
}

/// `<folder>/.versions/<name>/<label>` (`current`, `previous`, `AWSCURRENT`): a symlink to a version id.
struct VersionLabel: NodeKind {
    let secretPath: SecretPath
    let label: String
    let target: String?

    var type: NodeType { .symlink }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        NodeAttributes(
            inode: inode, type: .symlink, permissions: 0o777, size: target?.utf8.count ?? 0, modified: fs.mountedAt,
            uid: fs.options.uid, gid: fs.options.gid)
    }
}
