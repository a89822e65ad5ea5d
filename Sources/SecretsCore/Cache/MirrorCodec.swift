import struct Foundation.Date

/// The bytes of a cache mirror record: a key and an entry, or a key alone for one that is gone.
/// Little-endian, length-prefixed; values are copied straight from and into `SecretValue`, so
/// no `String` or `Data` copy of a value is left behind in memory.
public enum MirrorCodec {
    /// Hands `body` the record's bytes, then zeroes them: they hold values.
    public static func withRecord<R>(
        _ key: CacheKey, _ entry: MirroredEntry?, _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        var bytes = encode(key, entry)
        defer { bytes.zeroize() }
        return bytes.withUnsafeBytes(body)
    }

    /// The record's bytes; the caller zeroes them when done (they hold values).
    public static func encode(_ key: CacheKey, _ entry: MirroredEntry?) -> [UInt8] {
        var out = ByteWriter()
        // Reserved at once: a buffer that grows leaves copies of the values it held behind.
        out.bytes.reserveCapacity(4096 + (entry.map(Self.valueBytes) ?? 0))
        switch key {
        case .secret(let path, let version):
            out.byte(1)
            out.strings(path.segments)
            out.optionalString(version)
        case .listing(let path):
            out.byte(2)
            out.strings(path.segments)
        case .versions(let path):
            out.byte(3)
            out.strings(path.segments)
        }
        guard let entry else {
            out.byte(0)
            return out.bytes
        }
        out.byte(1)
        out.double(entry.fetchedAt.timeIntervalSince1970)
        switch entry.payload {
        case .secret(let secret):
            out.byte(1)
            out.string(secret.version)
            out.optionalDate(secret.createdAt)
            switch secret.content {
            case .value(let value):
                out.byte(1)
                out.value(value)
            case .fields(let fields):
                out.byte(2)
                out.count(fields.count)
                for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                    out.string(name)
                    out.value(value)
                }
            }
        case .listing(let listing):
            out.byte(2)
            out.strings(listing.secrets.sorted())
            out.strings(listing.folders.sorted())
        case .versions(let versions):
            out.byte(3)
            out.count(versions.count)
            for version in versions {
                out.string(version.id)
                out.optionalDate(version.createdAt)
                out.strings(version.labels)
            }
        }
        return out.bytes
    }

    private static func valueBytes(_ entry: MirroredEntry) -> Int {
        guard case .secret(let secret) = entry.payload else { return 0 }
        switch secret.content {
        case .value(let value): return value.count
        case .fields(let fields): return fields.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 8 }
        }
    }

    /// Nil for bytes that are not a whole record (a worker killed in the middle of writing one).
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> (CacheKey, MirroredEntry?)? {
        var input = ByteReader(bytes)
        guard let kind = input.byte(), let segments = input.strings(), let path = try? SecretPath(segments: segments)
        else {
            return nil
        }
        let key: CacheKey
        switch kind {
        case 1:
            guard let version = input.optionalString() else { return nil }
            key = .secret(path, version: version)
        case 2: key = .listing(path)
        case 3: key = .versions(path)
        default: return nil
        }
        guard let present = input.byte() else { return nil }
        if present == 0 { return (key, nil) }
        guard let seconds = input.double(), let payloadKind = input.byte() else { return nil }
        let payload: MirroredEntry.Payload
        switch payloadKind {
        case 1:
            guard let version = input.string(), let createdAt = input.optionalDate(), let contentKind = input.byte()
            else { return nil }
            let content: SecretContent
            if contentKind == 1 {
                guard let value = input.value() else { return nil }
                content = .value(value)
            } else {
                guard let count = input.count() else { return nil }
                var fields: [String: SecretValue] = [:]
                for _ in 0..<count {
                    guard let name = input.string(), let value = input.value() else { return nil }
                    fields[name] = value
                }
                content = .fields(fields)
            }
            payload = .secret(Secret(content: content, version: version, createdAt: createdAt))
        case 2:
            guard let secrets = input.strings(), let folders = input.strings() else { return nil }
            payload = .listing(Listing(secrets: Set(secrets), folders: Set(folders)))
        case 3:
            guard let count = input.count() else { return nil }
            var versions: [VersionInfo] = []
            for _ in 0..<count {
                guard let id = input.string(), let createdAt = input.optionalDate(), let labels = input.strings()
                else { return nil }
                versions.append(VersionInfo(id: id, createdAt: createdAt, labels: labels))
            }
            payload = .versions(versions)
        default:
            return nil
        }
        return (key, MirroredEntry(payload: payload, fetchedAt: Date(timeIntervalSince1970: seconds)))
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }
    mutating func count(_ value: Int) { integer(UInt32(value)) }
    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func double(_ value: Double) { integer(value.bitPattern) }
    mutating func string(_ value: String) {
        count(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }
    mutating func strings(_ values: [String]) {
        count(values.count)
        values.forEach { string($0) }
    }
    mutating func optionalString(_ value: String?) {
        byte(value == nil ? 0 : 1)
        if let value { string(value) }
    }
    mutating func optionalDate(_ value: Date?) {
        byte(value == nil ? 0 : 1)
        if let value { double(value.timeIntervalSince1970) }
    }
    mutating func value(_ value: SecretValue) {
        count(value.count)
        value.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
    mutating func byte() -> UInt8? { take(1)?.first }
    mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
        guard let raw = take(MemoryLayout<T>.size) else { return nil }
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }
    mutating func count() -> Int? { integer(UInt32.self).map(Int.init) }
    mutating func double() -> Double? { integer(UInt64.self).map(Double.init(bitPattern:)) }
    mutating func string() -> String? {
        guard let count = count(), let raw = take(count) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }
    mutating func strings() -> [String]? {
        guard let count = count() else { return nil }
        var values: [String] = []
        for _ in 0..<count {
            guard let value = string() else { return nil }
            values.append(value)
        }
        return values
    }
    /// `.some(nil)` for a recorded absence, nil for bytes that are not a record.
    mutating func optionalString() -> String?? {
        guard let flag = byte() else { return nil }
        if flag == 0 { return .some(nil) }
        guard let value = string() else { return nil }
        return .some(value)
    }
    mutating func optionalDate() -> Date?? {
        guard let flag = byte() else { return nil }
        if flag == 0 { return .some(nil) }
        guard let seconds = double() else { return nil }
        return .some(Date(timeIntervalSince1970: seconds))
    }
    mutating func value() -> SecretValue? {
        guard let count = count(), let raw = take(count) else { return nil }
        return SecretValue(bytes: raw)
    }
}
