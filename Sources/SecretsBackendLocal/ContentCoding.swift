import SecretsCore

/// How a version's content is kept in its row: a plain value is its bytes as they are; a map of
/// fields is a length-prefixed list of (name, value) pairs, because values may be binary and a
/// text encoding (JSON, base64) would leave extra copies of every value in unzeroed strings.
enum ContentCoding {
    /// The `kind` column.
    enum Kind: Int64 {
        case value = 0
        case fields = 1
    }

    static func kind(of content: SecretContent) -> Kind {
        switch content {
        case .value: return .value
        case .fields: return .fields
        }
    }

    /// The bytes of the `content` column. The caller zeroes them once they are written.
    static func encode(_ content: SecretContent) -> [UInt8] {
        switch content {
        case .value(let value):
            return value.copyBytes()
        case .fields(let fields):
            var bytes: [UInt8] = []
            for name in fields.keys.sorted() {
                appendChunk(Array(name.utf8), to: &bytes)
                fields[name]!.withUnsafeBytes { appendChunk($0, to: &bytes) }
            }
            return bytes
        }
    }

    static func decode(kind rawKind: Int64, bytes: some Collection<UInt8>) throws(SecretError) -> SecretContent {
        switch Kind(rawValue: rawKind) {
        case .value:
            return .value(SecretValue(bytes: bytes))
        case .fields:
            var copy = Array(bytes)
            defer { copy.zeroize() }
            var fields: [String: SecretValue] = [:]
            var offset = 0
            while offset < copy.count {
                let name = try chunk(in: copy, at: &offset)
                let value = try chunk(in: copy, at: &offset)
                fields[String(decoding: copy[name], as: UTF8.self)] = SecretValue(bytes: copy[value])
            }
            return .fields(fields)
        case nil:
            throw SecretError(.malformedResponse, "stored content has an unknown kind \(rawKind)")
        }
    }

    private static func appendChunk(_ chunk: some Collection<UInt8>, to bytes: inout [UInt8]) {
        let count = UInt32(chunk.count)
        bytes.append(contentsOf: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: count >> $0) })
        bytes.append(contentsOf: chunk)
    }

    /// The range of the next length-prefixed chunk at `offset`, moving `offset` past it.
    private static func chunk(in bytes: [UInt8], at offset: inout Int) throws(SecretError) -> Range<Int> {
        guard bytes.count - offset >= 4 else { throw corrupt }
        let count = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        offset += 4
        guard bytes.count - offset >= count else { throw corrupt }
        defer { offset += count }
        return offset..<offset + count
    }

    private static var corrupt: SecretError {
        SecretError(.malformedResponse, "stored fields are truncated or corrupt")
    }
}
