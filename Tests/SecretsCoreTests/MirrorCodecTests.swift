import Foundation
import Testing

@testable import SecretsCore

/// The bytes a worker leaves in the cache mirror are all the next one has: every key and payload
/// must come back equal, and a record cut short by a kill must be refused, not misread.
@Suite struct MirrorCodecTests {
    static let fetchedAt = Date(timeIntervalSince1970: 1_800_000_123)

    static let keys: [CacheKey] = [
        .secret(path("app/db/password"), version: nil),
        .secret(path("app/db/password"), version: "3"),
        .secret(path("single"), version: ""),
        .secret(.root, version: nil),
        .listing(path("app/db")),
        .listing(.root),
        .versions(path("app/db/password")),
        .versions(.root),
    ]

    static let payloads: [MirroredEntry.Payload] = [
        .secret(Secret(content: .value(SecretValue(string: "hunter2")), version: "7", createdAt: nil)),
        // Every byte value, NUL and invalid UTF-8 included: values are bytes, not text.
        .secret(
            Secret(
                content: .value(SecretValue(bytes: (0...255).map(UInt8.init))), version: "v-binary",
                createdAt: Date(timeIntervalSince1970: 1_700_000_000))),
        .secret(Secret(content: .value(SecretValue(bytes: [UInt8]())), version: "1", createdAt: nil)),
        .secret(
            Secret(
                content: .fields([
                    "username": SecretValue(string: "admin"), "password": SecretValue(bytes: [0, 0xff, 0x80]),
                    "empty": SecretValue(bytes: [UInt8]()),
                ]), version: "12", createdAt: Date(timeIntervalSince1970: 1_650_000_000))),
        .secret(Secret(content: .fields([:]), version: "2", createdAt: nil)),
        .listing(Listing(secrets: ["a", "b", "ünïcode"], folders: ["x", "y"])),
        .listing(Listing()),
        .versions([
            VersionInfo(id: "3", createdAt: Date(timeIntervalSince1970: 1_700_000_300), labels: ["current"]),
            VersionInfo(id: "2", createdAt: nil, labels: ["previous", "AWSPENDING"]),
            VersionInfo(id: "1", createdAt: nil, labels: []),
        ]),
        .versions([]),
    ]

    static func roundTrip(_ key: CacheKey, _ entry: MirroredEntry?) -> (CacheKey, MirroredEntry?)? {
        MirrorCodec.encode(key, entry).withUnsafeBytes { MirrorCodec.decode($0) }
    }

    @Test(arguments: keys) func everyKeyComesBackWithEveryPayload(_ key: CacheKey) throws {
        for payload in Self.payloads {
            let entry = MirroredEntry(payload: payload, fetchedAt: Self.fetchedAt)
            let decoded = try #require(Self.roundTrip(key, entry), "\(key) \(payload)")
            #expect(decoded.0 == key)
            #expect(decoded.1 == entry, "\(key)")
        }
    }

    @Test(arguments: keys) func aTombstoneComesBackAsAKeyWithoutAnEntry(_ key: CacheKey) throws {
        let decoded = try #require(Self.roundTrip(key, nil))
        #expect(decoded.0 == key)
        #expect(decoded.1 == nil)
    }

    @Test func aMissingVersionAndAnEmptyVersionStayDistinct() throws {
        // `.secret(p, version: nil)` is the current value; an empty id is some other version.
        let current = try #require(Self.roundTrip(.secret(path("a"), version: nil), nil))
        let empty = try #require(Self.roundTrip(.secret(path("a"), version: ""), nil))
        #expect(current.0 == .secret(path("a"), version: nil))
        #expect(empty.0 == .secret(path("a"), version: ""))
    }

    @Test func datesWithFractionalSecondsComeBackExactly() throws {
        // Backends give nanoseconds (Vault's created_time), and a restored secret must compare
        // equal to the one the backend answers next, or the cache reports it changed after a
        // restart. Every backend builds its dates from seconds since 1970, as these are; the codec
        // stores that interval, so these come back bit for bit.
        let dates = [
            try #require(Timestamp.parseRFC3339("2024-03-05T19:34:38.987654321Z")),
            try #require(Timestamp.parseRFC3339("2031-07-01T00:00:00.000000001+02:00")),
            Date(timeIntervalSince1970: 1_712_345_678.987654321),
            Date(timeIntervalSince1970: Double(1_700_000_000) + 0x1p-22),
        ]
        for date in dates {
            let secret = Secret(content: .value(SecretValue(string: "v")), version: "1", createdAt: date)
            let entry = MirroredEntry(payload: .secret(secret), fetchedAt: date)
            let decoded = try #require(Self.roundTrip(.secret(path("a"), version: nil), entry))
            #expect(decoded.1 == entry, "\(date.timeIntervalSinceReferenceDate)")
            let versions = MirroredEntry(payload: .versions([VersionInfo(id: "1", createdAt: date)]), fetchedAt: date)
            #expect(try #require(Self.roundTrip(.versions(path("a")), versions)).1 == versions)
        }
    }

    @Test func fieldOrderDoesNotChangeTheBytes() {
        // The mirror is compared and rewritten as bytes; a dictionary's order must not leak into them.
        var one: [String: SecretValue] = [:]
        var two: [String: SecretValue] = [:]
        let names = (0..<20).map { "field\($0)" }
        for name in names { one[name] = SecretValue(string: name) }
        for name in names.reversed() { two[name] = SecretValue(string: name) }
        func bytes(_ fields: [String: SecretValue]) -> [UInt8] {
            let secret = Secret(content: .fields(fields), version: "1", createdAt: nil)
            return MirrorCodec.encode(
                .secret(path("a"), version: nil), MirroredEntry(payload: .secret(secret), fetchedAt: Self.fetchedAt))
        }
        #expect(bytes(one) == bytes(two))
    }

    @Test func withRecordHandsOverTheSameBytesAsEncode() {
        let entry = MirroredEntry(payload: Self.payloads[3], fetchedAt: Self.fetchedAt)
        let key = CacheKey.secret(path("app/db"), version: nil)
        let seen = MirrorCodec.withRecord(key, entry) { Array($0) }
        #expect(seen == MirrorCodec.encode(key, entry))
    }

    @Test func everyPrefixOfAValidRecordIsRefused() {
        // A worker killed mid-write leaves a prefix; it must decode to nil and never trap.
        var records: [[UInt8]] = []
        for key in Self.keys {
            records.append(MirrorCodec.encode(key, nil))
            for payload in Self.payloads {
                records.append(MirrorCodec.encode(key, MirroredEntry(payload: payload, fetchedAt: Self.fetchedAt)))
            }
        }
        for record in records {
            #expect(record.withUnsafeBytes { MirrorCodec.decode($0) } != nil)
            for length in 0..<record.count {
                let prefix = Array(record.prefix(length))
                let decoded = prefix.withUnsafeBytes { MirrorCodec.decode($0) }
                #expect(decoded == nil, "prefix of \(length) of \(record.count) bytes decoded")
            }
        }
    }

    @Test func garbageIsRefused() {
        let garbage: [[UInt8]] = [
            [],
            [0],
            [9, 0, 0, 0, 0, 0],  // an unknown key kind
            [2, 1, 0, 0, 0, 1, 0, 0, 0, UInt8(ascii: "."), 0],  // a path segment the mount refuses
            [2, 0xff, 0xff, 0xff, 0xff],  // a count far past the end
            [2, 0, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 8) + [9],  // an unknown payload kind
        ]
        for bytes in garbage {
            #expect(bytes.withUnsafeBytes { MirrorCodec.decode($0) } == nil, "\(bytes)")
        }
    }
}
