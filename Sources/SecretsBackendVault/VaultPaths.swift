// API paths below /v1/ and the one mapping from a Vault status to a SecretError.
import Foundation
import SecretsCore

enum VaultPaths {
    /// Unreserved characters only: a secret name may hold `?`, `#`, `%` or spaces, and Vault decodes the path.
    private static let allowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }

    /// Encodes each `/`-separated segment of `path`.
    static func encodePath(_ segments: [String]) -> String {
        segments.map(encode).joined(separator: "/")
    }

    /// A status that is not the answer a call wanted. The message names the call, path and status only.
    static func statusError(_ status: UInt, _ what: String, path: SecretPath?) -> SecretError {
        switch status {
        case 401, 403:
            return SecretError(.permissionDenied, "Vault denied \(what) (\(status))", path: path)
        case 404:
            return SecretError(.notFound, "no such secret in Vault (404 on \(what))", path: path)
        case 429:
            return SecretError(.unavailable, "Vault throttled \(what) (429)", path: path)
        case 503:
            return SecretError(.unavailable, "Vault is sealed or in maintenance (503 on \(what))", path: path)
        case 500...599:
            return SecretError(.unavailable, "Vault failed \(what) (\(status))", path: path)
        case 400:
            return SecretError(.invalidArgument, "Vault refused \(what) as a bad request (400)", path: path)
        default:
            return SecretError(.malformedResponse, "Vault answered \(what) with an unexpected \(status)", path: path)
        }
    }
}
