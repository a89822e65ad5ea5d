import struct Foundation.Date

/// One leased credential as it is handed to the next worker, so a restart or reload never makes a
/// new one: the lease id (a credential itself), the credential's fields and where the lease stands.
public struct LeaseRecord: Sendable, Equatable {
    public var path: SecretPath
    public var leaseID: SecretValue
    /// The version the folder shows (when the credential was made, in milliseconds): never the lease id.
    public var version: String
    public var fields: [String: SecretValue]
    public var state: LeaseState
    /// Credentials made for this folder since the mount started.
    public var made: Int

    public init(
        path: SecretPath, leaseID: SecretValue, version: String, fields: [String: SecretValue], state: LeaseState,
        made: Int
    ) {
        self.path = path
        self.leaseID = leaseID
        self.version = version
        self.fields = fields
        self.state = state
        self.made = made
    }

    public var secret: Secret { Secret(content: .fields(fields), version: version, createdAt: state.obtainedAt) }
}

/// Where the lease holder keeps its records for the worker after it: memory shared with the
/// supervisor, never a disk. `save` replaces every record at once.
public protocol LeaseJournal: Sendable {
    func load() -> [LeaseRecord]
    func save(_ records: [LeaseRecord])
    /// Zeroes everything: the leases were revoked and no worker may take them over.
    func wipe()
}

/// The bytes of a lease record, in the cache mirror's format (little-endian, length-prefixed).
public enum LeaseRecordCodec {
    /// The record's bytes; the caller zeroes them when done (they hold a lease id and values).
    public static func encode(_ record: LeaseRecord) -> [UInt8] {
        var out = ByteWriter()
        out.bytes.reserveCapacity(
            256 + record.leaseID.count + record.fields.reduce(0) { $0 + $1.key.utf8.count + $1.value.count + 8 })
        out.byte(1)
        out.strings(record.path.segments)
        out.value(record.leaseID)
        out.string(record.version)
        out.count(record.fields.count)
        for (name, value) in record.fields.sorted(by: { $0.key < $1.key }) {
            out.string(name)
            out.value(value)
        }
        let state = record.state
        out.double(state.obtainedAt.timeIntervalSince1970)
        out.double(state.renewedAt.timeIntervalSince1970)
        out.double(state.expiresAt.timeIntervalSince1970)
        out.byte(state.renewable ? 1 : 0)
        out.double(state.leaseDuration)
        out.count(state.renewals)
        out.byte(state.capped ? 1 : 0)
        out.count(record.made)
        return out.bytes
    }

    /// Nil for bytes that are not a whole record.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> LeaseRecord? {
        var input = ByteReader(bytes)
        guard input.byte() == 1, let segments = input.strings(), let path = try? SecretPath(segments: segments),
            let leaseID = input.value(), let version = input.string(), let count = input.count()
        else { return nil }
        var fields: [String: SecretValue] = [:]
        for _ in 0..<count {
            guard let name = input.string(), let value = input.value() else { return nil }
            fields[name] = value
        }
        guard let obtained = input.double(), let renewed = input.double(), let expires = input.double(),
            let renewable = input.byte(), let duration = input.double(), let renewals = input.count(),
            let capped = input.byte(), let made = input.count()
        else { return nil }
        let state = LeaseState(
            obtainedAt: Date(timeIntervalSince1970: obtained), expiresAt: Date(timeIntervalSince1970: expires),
            renewable: renewable == 1, renewedAt: Date(timeIntervalSince1970: renewed), leaseDuration: duration,
            renewals: renewals, capped: capped == 1)
        return LeaseRecord(
            path: path, leaseID: leaseID, version: version, fields: fields, state: state, made: made)
    }
}
