import Foundation
import SecretsCore
import Testing

@testable import SecretsBackendLocal

@Suite struct SealedCacheFileTests {
    private func key(_ byte: UInt8) throws -> StoreKey {
        try StoreKey(bytes: [UInt8](repeating: byte, count: 32), source: "key \(byte)")
    }

    private func entries() throws -> [(CacheKey, MirroredEntry)] {
        let secret = Secret(
            content: .fields(["password": SecretValue(string: "sealed-file-pass-01")]), version: "3", createdAt: nil)
        let when = Date(timeIntervalSince1970: 1_800_000_000)
        return [
            (.secret(try SecretPath("app/db"), version: nil), MirroredEntry(payload: .secret(secret), fetchedAt: when)),
            (
                .listing(try SecretPath("app")),
                MirroredEntry(payload: .listing(Listing(secrets: ["db"])), fetchedAt: when)
            ),
        ]
    }

    @Test func whatIsWrittenLoadsBackSealedAndPrivate() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.root + "/cache.sealed"
        let file = SealedCacheFile(path: path, key: try key(1))
        #expect(try file.load().isEmpty)  // no file yet: an empty cache
        let written = try entries()
        try file.write(written)
        let loaded = try file.load()
        #expect(loaded.count == 2)
        for (key, entry) in written {
            #expect(loaded.first { $0.0 == key }?.1 == entry)
        }
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.range(of: Data("sealed-file-pass-01".utf8)) == nil)
        #expect(bytes.range(of: Data("app/db".utf8)) == nil)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.root) == ["cache.sealed"])
    }

    @Test func anotherKeyOrAnAlteredFileIsOneErrorNamingTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.root + "/cache.sealed"
        try SealedCacheFile(path: path, key: try key(1)).write(try entries())
        #expect {
            try SealedCacheFile(path: path, key: try key(2)).load()
        } throws: {
            ($0 as? SecretError)?.message.contains("does not open with the key in key 2") == true
        }
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 20] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(throws: SecretError.self) { try SealedCacheFile(path: path, key: try key(1)).load() }
        try Data("not ours".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try SealedCacheFile(path: path, key: try key(1)).load()
        } throws: {
            ($0 as? SecretError)?.message.contains("is not a secretsfs cache file") == true
        }
    }
}
