// An Ed25519 key pair in OpenSSH's own formats, for `leases:` entries that `sign:` a key the daemon
// makes: the private key as `openssh-key-v1` (unencrypted, as `ssh-keygen -N ''` writes it, which is
// what `ssh -i` reads) and the public key as an `authorized_keys` line. Every buffer that held the
// private key is zeroed before it goes.
import Crypto
import Foundation
import SecretsCore

struct OpenSSHKey {
    static let type = "ssh-ed25519"
    /// The public key's wire form: string "ssh-ed25519", string of its 32 bytes.
    let publicBlob: [UInt8]
    private let seed: SecretValue
    private let publicKey: [UInt8]

    /// The key whose 32-byte private seed is `seed` (RFC 8032), its public half derived from it.
    init(seed: SecretValue) throws(SecretError) {
        guard seed.count == 32 else { throw SecretError(.configuration, "an Ed25519 seed is 32 bytes") }
        let key: Curve25519.Signing.PrivateKey
        do {
            key = try seed.withUnsafeBytes { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
        } catch {
            throw SecretError(.configuration, "the Ed25519 seed was refused")
        }
        self.seed = seed
        self.publicKey = Array(key.publicKey.rawRepresentation)
        var blob = SSHWire()
        blob.string(Array(Self.type.utf8))
        blob.string(publicKey)
        self.publicBlob = blob.bytes
    }

    /// `ssh-ed25519 AAAA… comment`, with a newline.
    func publicLine(comment: String) -> String {
        Self.type + " " + String(decoding: Base64Text.encode(publicBlob), as: UTF8.self) + " " + comment + "\n"
    }

    /// The private key file's text. `checkInt` is the format's pair of equal random words, which tell a
    /// reader that a passphrase opened the key; unencrypted, any value does.
    func privateFile(comment: String, checkInt: UInt32) -> SecretValue {
        var section = SSHWire()
        defer { section.zero() }
        section.uint32(checkInt)
        section.uint32(checkInt)
        section.string(Array(Self.type.utf8))
        section.string(publicKey)
        // The private half is the seed followed by the public key, 64 bytes.
        section.uint32(64)
        seed.withUnsafeBytes { section.bytes.append(contentsOf: $0) }
        section.bytes.append(contentsOf: publicKey)
        section.string(Array(comment.utf8))
        // Padded with 1, 2, 3, … to the cipher's block size, 8 for "none".
        var pad: UInt8 = 1
        while section.bytes.count % 8 != 0 {
            section.bytes.append(pad)
            pad += 1
        }

        var whole = SSHWire()
        defer { whole.zero() }
        whole.bytes.reserveCapacity(section.bytes.count + publicBlob.count + 64)
        whole.bytes.append(contentsOf: Array("openssh-key-v1".utf8) + [0])
        whole.string(Array("none".utf8))
        whole.string(Array("none".utf8))
        whole.string([])
        whole.uint32(1)
        whole.string(publicBlob)
        whole.string(section.bytes)

        var encoded = Base64Text.encode(whole.bytes)
        defer { encoded.withUnsafeMutableBytes { SecretValue.zero($0) } }
        var text: [UInt8] = []
        text.reserveCapacity(encoded.count + encoded.count / 70 + 80)
        text.append(contentsOf: "-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8)
        var start = 0
        while start < encoded.count {
            let end = min(start + 70, encoded.count)
            text.append(contentsOf: encoded[start..<end])
            text.append(0x0A)
            start = end
        }
        text.append(contentsOf: "-----END OPENSSH PRIVATE KEY-----\n".utf8)
        return SecretValue(zeroing: &text)
    }
}

/// The SSH wire encoding (RFC 4251): big-endian words, strings prefixed with their length.
struct SSHWire {
    var bytes: [UInt8] = []

    mutating func uint32(_ value: UInt32) {
        bytes.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) })
    }

    mutating func string(_ value: [UInt8]) {
        uint32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func zero() { bytes.withUnsafeMutableBytes { SecretValue.zero($0) } }
}

/// Standard base64 with padding, into a buffer the caller can zero (Foundation's returns a string).
enum Base64Text {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let chunk = input[index..<min(index + 3, input.count)]
            var word = UInt32(0)
            for (offset, byte) in chunk.enumerated() { word |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0..<4 {
                out.append(
                    position <= chunk.count
                        ? alphabet[Int((word >> (18 - 6 * UInt32(position))) & 63)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return out
    }
}
