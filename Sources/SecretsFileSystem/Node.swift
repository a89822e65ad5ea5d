import Foundation
import SecretsCore
import SecretsTemplates

/// A node resolved against the store: what the inode is right now, with the data to answer for it.
enum Node: Sendable {
    /// The root, a folder implied by secret paths, or a multi-field secret's folder (`fields`
    /// set), or both at once when a secret and a path prefix share a name.
    case folder(SecretPath, isPrefix: Bool, secret: Secret?, fields: [String: SecretValue]?)
    case secretFile(SecretPath, Secret, SecretValue)
    case field(of: SecretPath, name: String, Secret, SecretValue)
    case versionsRoot(folder: SecretPath)
    case versions(of: SecretPath)
    case versionFile(of: SecretPath, id: String, Secret, SecretValue)
    case versionFolder(of: SecretPath, id: String, Secret, [String: SecretValue])
    case versionField(of: SecretPath, id: String, name: String, Secret, SecretValue)
    case label(of: SecretPath, label: String, target: String)
    /// A control file in `folder`; what it shows is its own (`ControlFile`).
    case control(ControlFileID, folder: SecretPath)
    /// A file of `files:` as rendered from its inputs just now.
    case rendered(SecretPath, RenderedOutput)

    /// The bytes a file node reads; an open handle holds them for its life.
    var value: SecretValue? {
        switch self {
        case .secretFile(_, _, let value), .field(_, _, _, let value), .versionFile(_, _, _, let value),
            .versionField(_, _, _, _, let value):
            return value
        case .rendered(_, let output):
            return output.value
        default:
            return nil
        }
    }

    /// The version a value node shows, for the audit log and xattrs.
    var secret: Secret? {
        switch self {
        case .secretFile(_, let secret, _), .field(_, _, let secret, _), .versionFile(_, _, let secret, _),
            .versionFolder(_, _, let secret, _), .versionField(_, _, _, let secret, _):
            return secret
        case .folder(_, _, let secret, _):
            return secret
        default:
            return nil
        }
    }

    var isDirectory: Bool {
        switch self {
        case .folder, .versionsRoot, .versions, .versionFolder: return true
        default: return false
        }
    }
}
