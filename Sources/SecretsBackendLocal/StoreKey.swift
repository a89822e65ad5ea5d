import Crypto
import SecretsCore

import struct Foundation.Data

#if canImport(Glibc)
    import Glibc
#endif

/// The key that seals a local store's values: 32 bytes, read from a file that holds them raw
/// (`head -c 32 /dev/urandom`) or as base64 or hex text (`openssl rand -base64 32`).
/// swift-crypto's `SymmetricKey` keeps it in memory it zeroes when the key goes.
public struct StoreKey: Sendable {
    let key: SymmetricKey
    /// The file it came from, for messages; never its content.
    public let source: String

    public init(bytes: [UInt8], source: String) throws(SecretError) {
        guard bytes.count == 32 else {
            throw SecretError(.configuration, "\(source) does not hold a 32-byte key")
        }
        key = SymmetricKey(data: bytes)
        self.source = source
    }

    /// Reads a key file. Its bytes are zeroed once the key holds them.
    public static func load(file: String) throws(SecretError) -> StoreKey {
        var raw = try readSmallFile(file)
        defer { raw.zeroize() }
        if raw.count == 32 { return try StoreKey(bytes: raw, source: file) }
        var text = raw
        while let last = text.last, [0x0A, 0x0D, 0x20, 0x09].contains(last) { text.removeLast() }
        defer { text.zeroize() }
        if var decoded = hex(text) ?? base64(text) {
            defer { decoded.zeroize() }
            return try StoreKey(bytes: decoded, source: file)
        }
        throw SecretError(.configuration, "\(file) does not hold a 32-byte key (raw, base64 or hex)")
    }

    /// A key readable by anyone but its owner is no longer a key only its owner has.
    private static func readSmallFile(_ file: String) throws(SecretError) -> [UInt8] {
        // A key file is tiny; more than this is not a key file.
        try TrustedFile.read(file, what: "the store key file", secret: true, limit: 4096)
    }

    private static func hex(_ text: [UInt8]) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else {
                out.zeroize()
                return nil
            }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func base64(_ text: [UInt8]) -> [UInt8]? {
        guard var data = Data(base64Encoded: Data(text)) else { return nil }
        defer { data.withUnsafeMutableBytes { SecretValue.zero($0) } }
        return [UInt8](data)
    }
}
