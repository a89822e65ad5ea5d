// API paths below /v1/ and the one mapping from a Vault status to a SecretError.
import Foundation
import SecretsCore

enum VaultPaths {
    /// Percent-encodes all but RFC 3986's unreserved characters: a secret name may hold `?`, `#`, `%` or
    /// spaces, and Vault decodes the path. On bytes: Foundation's `addingPercentEncoding` showed in the
    /// profile of a cache miss at 3% of the daemon's time.
    static func encode(_ segment: String) -> String {
        let utf8 = segment.utf8
        guard !utf8.allSatisfy(isUnreserved) else { return segment }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Encodes each `/`-separated segment of `path`.
    static func encodePath(_ segments: [String]) -> String {
        segments.map(encode).joined(separator: "/")
    }

    /// A status that is not the answer a call wanted. The message names the call, path and status only.
    static func statusError(_ status: Int, _ what: String, path: SecretPath?) -> SecretError {
        switch status {
        case 401, 403:
            return SecretError(.permissionDenied, "Vault denied \(what) (\(status))", path: path)
        case 404:
            return SecretError(.notFound, "no such secret in Vault (404 on \(what))", path: path)
        case 429:
            return SecretError(.unavailable, "Vault throttled \(what) (429)", path: path)
        case 503:
            return SecretError(.unavailable, "Vault is sealed or in maintenance (503 on \(what))", path: path)
        case 307:
            // A standby pointing at an active node that is not one of --vault-addr's, or is dead:
            // the cluster is electing one, or the address list lacks it.
            return SecretError(
                .unavailable, "Vault redirected \(what) to an active node it could not reach (307)", path: path)
        case 500...599:
            return SecretError(.unavailable, "Vault failed \(what) (\(status))", path: path)
        case 400:
            return SecretError(.invalidArgument, "Vault refused \(what) as a bad request (400)", path: path)
        default:
            return SecretError(.malformedResponse, "Vault answered \(what) with an unexpected \(status)", path: path)
        }
    }
}
