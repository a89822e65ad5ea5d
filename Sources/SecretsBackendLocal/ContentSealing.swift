import Crypto
import SecretsCore

import struct Foundation.Data

/// ChaCha20-Poly1305 over a version's `content` column. The associated data binds a sealed value
/// to its path, version and kind, so a row copied to another path or version does not open.
/// Names, version numbers and times stay plain: listing and `.versions` need no key.
enum ContentSealing {
    /// What `meta.key_check` seals: opening it proves the key before any value is read.
    static let keyCheckContext = Array("secretsfs local store key check v1".utf8)

    static func associatedData(path: String, version: Int, kind: ContentCoding.Kind) -> [UInt8] {
        Array("secretsfs local store v1\0\(path)\0\(version)\0\(kind.rawValue)".utf8)
    }

    /// Nonce, ciphertext and tag, as swift-crypto's `combined` lays them out.
    static func seal(_ plaintext: [UInt8], with key: StoreKey, context: [UInt8]) throws(SecretError) -> [UInt8] {
        do {
            return [UInt8](try ChaChaPoly.seal(plaintext, using: key.key, authenticating: context).combined)
        } catch {
            throw SecretError(.internal, "sealing a value failed")
        }
    }

    /// The plaintext, which the caller zeroes; a wrong key or a moved or altered row is one error.
    static func open(_ sealed: some Collection<UInt8>, with key: StoreKey, context: [UInt8]) throws(SecretError)
        -> [UInt8]
    {
        do {
            let box = try ChaChaPoly.SealedBox(combined: Data(sealed))
            var plain = try ChaChaPoly.open(box, using: key.key, authenticating: context)
            defer { plain.withUnsafeMutableBytes { SecretValue.zero($0) } }
            return [UInt8](plain)
        } catch {
            throw SecretError(.malformedResponse, "a stored value does not open with the store key (altered or moved)")
        }
    }

    static func keyCheck(_ key: StoreKey) throws(SecretError) -> [UInt8] {
        try seal([UInt8](repeating: 0, count: 32), with: key, context: keyCheckContext)
    }

    static func verify(_ key: StoreKey, against check: some Collection<UInt8>, file: String) throws(SecretError) {
        do {
            var plain = try open(check, with: key, context: keyCheckContext)
            plain.zeroize()
        } catch {
            throw SecretError(.configuration, "the key in \(key.source) does not open \(file) (a different key?)")
        }
    }
}
