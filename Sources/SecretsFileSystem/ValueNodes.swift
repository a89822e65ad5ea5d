import Foundation
import SecretsCore

/// The kinds that show one version of a secret or of a field: what they share. `stat` gives the
/// exact size and the version's time; `getfattr` the version, the backend and the cache's freshness.
protocol ValueFileKind: NodeKind {
    var bytes: SecretValue { get }
    /// The version it shows.
    var version: Secret { get }
    /// The secret and version the cache keeps it as, for its freshness, and the file's own path,
    /// for a certificate's attributes.
    var cachedAs: (secret: SecretPath, version: String?, file: SecretPath) { get }
}

extension ValueFileKind {
    var value: SecretValue? { bytes }
    var secret: Secret? { version }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        fs.fileAttributes(inode: inode, size: bytes.count, modified: version.createdAt)
    }

    func xattrs(in fs: SecretsFileSystem) async -> [(String, [UInt8])] {
        await fs.valueXattrs(version, cachedAs: cachedAs)
    }
}

/// A secret's current value: `openai/api_key`.
struct SecretFile: ValueFileKind {
    let path: SecretPath
    let version: Secret
    let bytes: SecretValue

    var current: CurrentValue? { CurrentValue(secret: path, field: nil, version: version.version) }
    var cachedAs: (secret: SecretPath, version: String?, file: SecretPath) { (path, nil, path) }
}

/// A field of a multi-field secret's current version: `db/password`.
struct FieldFile: ValueFileKind {
    /// The secret's path, the field's name, and the two joined: each kept as made, so asking costs
    /// no string.
    let secretPath: SecretPath
    let name: String
    let path: SecretPath
    let version: Secret
    let bytes: SecretValue

    var current: CurrentValue? { CurrentValue(secret: secretPath, field: name, version: version.version) }
    var cachedAs: (secret: SecretPath, version: String?, file: SecretPath) { (path, nil, path) }
}

/// `<folder>/.versions/<name>/<id>` of a secret whose version is one value.
struct VersionFile: ValueFileKind {
    let secretPath: SecretPath
    let id: String
    let version: Secret
    let bytes: SecretValue

    var cachedAs: (secret: SecretPath, version: String?, file: SecretPath) { (secretPath, id, secretPath) }
}

/// `<folder>/.versions/<name>/<id>/<field>`: judged, owned and described as that field.
struct VersionFieldFile: ValueFileKind {
    let secretPath: SecretPath
    let id: String
    let name: String
    let version: Secret
    let bytes: SecretValue

    var cachedAs: (secret: SecretPath, version: String?, file: SecretPath) {
        (secretPath, id, (try? secretPath.appending(name)) ?? secretPath)
    }
}
