import Foundation
import SQLiteNIO
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendLocal

private func key(_ byte: UInt8, source: String = "test key") throws -> StoreKey {
    try StoreKey(bytes: [UInt8](repeating: byte, count: 32), source: source)
}

/// Every byte of the store's files, for the check that no value is on disk in the clear.
private func fileBytes(_ folder: TemporaryFolder) -> Data {
    var all = Data()
    for suffix in ["", "-wal", "-journal"] {
        if let data = FileManager.default.contents(atPath: folder.storePath + suffix) { all.append(data) }
    }
    return all
}

private func write(_ store: LocalSecretStore, _ path: String, _ value: String) async throws {
    _ = try await store.write(try SecretPath(path), content: .value(SecretValue(string: value)))
}

@Suite struct EncryptedStoreTests {
    @Test func anEncryptedStorePassesTheConformanceSuite() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(7))
        let seeded: [SecretPath: [UInt8]] = [
            try SecretPath("openai/api_key"): Array("sk-sealed-conformance-01".utf8),
            try SecretPath("binary"): [0xff, 0x00, 0x80],
        ]
        for (path, bytes) in seeded { _ = try await store.write(path, content: .value(SecretValue(bytes: bytes))) }
        let fieldPath = try SecretPath("db/primary")
        let fields: [String: [UInt8]] = ["username": Array("app-user".utf8), "password": [0x00, 0x01]]
        _ = try await store.write(fieldPath, content: .fields(fields.mapValues { SecretValue(bytes: $0) }))
        await StoreConformance.run(
            ConformanceFixture(
                store: store, seeded: seeded, fieldSecret: (fieldPath, fields), scratch: try SecretPath("scratch")))
        await store.shutdown()
        #expect(fileBytes(folder).range(of: Data("sk-sealed-conformance-01".utf8)) == nil)
        #expect(fileBytes(folder).range(of: Data("app-user".utf8)) == nil)
    }

    /// Issue 27 §4: a plain store sealed under a process that has it open (as a mount has) must never
    /// give that process the sealed bytes as a value, nor take a plain write.
    @Test func aStoreSealedUnderAnOpenConnectionIsRefusedNotServed() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let mounted = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        try await write(mounted, "a/b", "plain-under-mount-01")
        #expect(try await LocalSecretStore.encrypt(path: folder.storePath, key: try key(3), logger: testLogger) == 1)
        await #expect {
            _ = try await mounted.read(try SecretPath("a/b"), version: nil)
        } throws: { error in
            (error as? SecretError)?.code == .unavailable
                && (error as? SecretError)?.message.contains("was encrypted after this mount opened it") == true
        }
        await #expect(throws: SecretError.self) { try await write(mounted, "a/c", "plain-write-refused-02") }
        let listed = try await mounted.listWithCurrent(.root)
        #expect(listed.current.isEmpty)
        await mounted.shutdown()
        #expect(fileBytes(folder).range(of: Data("plain-write-refused-02".utf8)) == nil)
    }

    @Test func theKeyMustFitTheStore() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sealed = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(1))
        try await write(sealed, "a", "sealed-value-0001")
        await sealed.shutdown()

        await #expect {
            _ = try await LocalSecretStore.open(
                path: folder.storePath, logger: testLogger, key: try key(2, source: "/k2"))
        } throws: { error in
            (error as? SecretError)?.message.contains("the key in /k2 does not open") == true
        }
        await #expect {
            _ = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        } throws: { error in
            (error as? SecretError)?.message.contains("is encrypted: give its key") == true
        }
        let reopened = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(1))
        #expect(
            try await reopened.read(try SecretPath("a")).content == .value(SecretValue(string: "sealed-value-0001")))
        await reopened.shutdown()
    }

    @Test func aListingOpensTheCurrentSecretsItBrings() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(7))
        try await write(store, "dir/one", "sealed-listed-0001")
        try await write(store, "dir/one", "sealed-listed-0002")
        let answer = try await store.listWithCurrent(try SecretPath("dir"))
        let (listing, current) = (answer.listing, answer.current)
        #expect(listing == Listing(secrets: ["one"]))
        #expect(current["one"]?.content == .value(SecretValue(string: "sealed-listed-0002")))
        #expect(current["one"]?.version == "2")
        await store.shutdown()
    }

    @Test func aPlainStoreWithValuesIsNotOpenedWithAKey() async throws {
        try await withTemporaryStore { store, folder in
            try await write(store, "a", "plain")
            await #expect {
                _ = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(1))
            } throws: { error in
                (error as? SecretError)?.message.contains("is not encrypted; 'secretsfs store encrypt") == true
            }
        }
    }

    @Test func encryptConvertsEveryVersionAndLeavesNoPlaintext() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let plain = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        try await write(plain, "db/password", "first-plain-value-01")
        try await write(plain, "db/password", "second-plain-value-02")
        _ = try await plain.write(
            try SecretPath("db/creds"), content: .fields(["user": SecretValue(string: "field-plain-value-03")]))
        await plain.shutdown()
        #expect(fileBytes(folder).range(of: Data("first-plain-value-01".utf8)) != nil)

        let count = try await LocalSecretStore.encrypt(path: folder.storePath, key: try key(9), logger: testLogger)
        #expect(count == 3)
        for planted in ["first-plain-value-01", "second-plain-value-02", "field-plain-value-03"] {
            #expect(fileBytes(folder).range(of: Data(planted.utf8)) == nil, "\(planted.prefix(5))… left on disk")
        }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(9))
        let path = try SecretPath("db/password")
        #expect(try await store.read(path, version: "1").content == .value(SecretValue(string: "first-plain-value-01")))
        #expect(try await store.read(path).content == .value(SecretValue(string: "second-plain-value-02")))
        #expect(try await store.versions(of: path).map(\.id) == ["1", "2"])
        await store.shutdown()

        await #expect {
            _ = try await LocalSecretStore.encrypt(path: folder.storePath, key: try key(9), logger: testLogger)
        } throws: { error in
            (error as? SecretError)?.message.contains("already encrypted") == true
        }
    }

    @Test func aValueMovedToAnotherPathDoesNotOpen() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, key: try key(3))
        try await write(store, "a", "value-of-a")
        try await write(store, "b", "value-of-b")
        // Someone with the file (but not the key) copies a's sealed bytes over b's.
        _ = try await store.query(
            "test", "UPDATE versions SET content = (SELECT content FROM versions WHERE path = 'a') WHERE path = 'b'", []
        )
        await #expect {
            _ = try await store.read(try SecretPath("b"))
        } throws: { error in
            let failure = error as? SecretError
            return failure?.code == .malformedResponse && failure?.message.contains("does not open") == true
        }
        #expect(try await store.read(try SecretPath("a")).content == .value(SecretValue(string: "value-of-a")))
        await store.shutdown()
    }

    @Test func keyFilesAreRawBase64OrHex() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let raw = [UInt8](repeating: 0xAB, count: 32)
        let files: [(String, Data)] = [
            ("raw", Data(raw)),
            ("b64", Data((Data(raw).base64EncodedString() + "\n").utf8)),
            ("hex", Data((String(repeating: "ab", count: 32) + "\n").utf8)),
        ]
        for (name, data) in files {
            let file = folder.root + "/" + name
            FileManager.default.createFile(atPath: file, contents: data, attributes: [.posixPermissions: 0o600])
            #expect(throws: Never.self) { _ = try StoreKey.load(file: file) }
        }
        let short = folder.root + "/short"
        FileManager.default.createFile(
            atPath: short, contents: Data("tooshort".utf8), attributes: [.posixPermissions: 0o600])
        #expect {
            _ = try StoreKey.load(file: short)
        } throws: { error in
            let failure = error as? SecretError
            return failure?.code == .configuration && failure?.message.contains("32-byte key") == true
                && failure?.message.contains("tooshort") == false
        }
        #expect(throws: SecretError.self) { _ = try StoreKey.load(file: folder.root + "/missing") }
        // A key others can read is no longer a key only its owner holds.
        let shared = folder.root + "/shared"
        FileManager.default.createFile(atPath: shared, contents: Data(raw), attributes: [.posixPermissions: 0o644])
        #expect {
            _ = try StoreKey.load(file: shared)
        } throws: { error in
            (error as? SecretError)?.message.contains("readable by group or others") == true
        }
    }
}
