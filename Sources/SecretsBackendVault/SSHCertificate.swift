import Foundation

/// What the mount needs of an OpenSSH certificate (PROTOCOL.certkeys): its validity, to re-sign
/// before it ends. Only read, never checked: sshd is the one that trusts or refuses it.
struct SSHCertificate: Equatable {
    var validAfter: UInt64
    /// Seconds since 1970; `UInt64.max` means it never expires.
    var validBefore: UInt64

    /// The public key fields each certificate type carries between its nonce and its serial.
    private static let keyFields: [String: Int] = [
        "ssh-ed25519-cert-v01@openssh.com": 1,
        "ssh-rsa-cert-v01@openssh.com": 2,
        "ecdsa-sha2-nistp256-cert-v01@openssh.com": 2,
        "ecdsa-sha2-nistp384-cert-v01@openssh.com": 2,
        "ecdsa-sha2-nistp521-cert-v01@openssh.com": 2,
        "sk-ssh-ed25519-cert-v01@openssh.com": 2,
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": 3,
        "ssh-dss-cert-v01@openssh.com": 4,
    ]

    /// A certificate line as `ssh-keygen -s` and Vault write it: `TYPE BASE64 [comment]`. Nil for
    /// anything else.
    init?(line: String) {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard words.count >= 2, let blob = Data(base64Encoded: String(words[1])) else { return nil }
        var reader = Reader(bytes: Array(blob))
        guard let type = reader.string().map({ String(decoding: $0, as: UTF8.self) }), type == words[0],
            let fields = Self.keyFields[type], reader.string() != nil  // the nonce
        else { return nil }
        for _ in 0..<fields { guard reader.string() != nil else { return nil } }
        guard reader.uint64() != nil, reader.uint32() != nil,  // serial, user or host
            reader.string() != nil, reader.string() != nil,  // key id, principals
            let after = reader.uint64(), let before = reader.uint64(), after <= before
        else { return nil }
        validAfter = after
        validBefore = before
    }

    /// When it stops being valid; nil when never.
    var expiresAt: Date? {
        validBefore >= UInt64(Int64.max) ? nil : Date(timeIntervalSince1970: TimeInterval(validBefore))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func uint32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            defer { offset += 4 }
            return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func uint64() -> UInt64? {
            guard bytes.count - offset >= 8 else { return nil }
            defer { offset += 8 }
            return bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func string() -> ArraySlice<UInt8>? {
            guard let length = uint32().map(Int.init), bytes.count - offset >= length else { return nil }
            defer { offset += length }
            return bytes[offset..<offset + length]
        }
    }
}
