import SecretsCore
import Testing

@testable import SecretsBackendLocal

/// Many writers at once, in one store and across two connections to one file (the CLI writing
/// while the daemon reads).
@Suite struct LocalConcurrencyTests {
    @Test func concurrentWritesMakeConsecutiveVersionsAndLoseNothing() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("hot/key")
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    group.addTask { try await store.write(path, content: .value(SecretValue(string: "w\(index)"))).id }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Spelled out with their types: inferred, these took a second to type-check.
            let consecutive: [String] = (1...20).map { (number: Int) -> String in String(number) }
            #expect(Set(ids) == Set(consecutive))
            let versions = try await store.versions(of: path)
            #expect(versions.map(\.id) == consecutive)
            var written: Set<String> = []
            for version in versions {
                let secret = try await store.read(path, version: version.id)
                written.insert(value(of: secret)?.utf8String() ?? "")
            }
            let everyWrite: [String] = (0..<20).map { (index: Int) -> String in "w\(index)" }
            #expect(written == Set(everyWrite))
        }
    }

    @Test func twoConnectionsToOneFileSeeEachOthersWrites() async throws {
        try await withTemporaryStore { daemon, folder in
            let cli = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
            let path = try SecretPath("shared/token")
            _ = try await cli.write(path, content: .value(SecretValue(string: "from-cli")))
            #expect(try await value(of: daemon.read(path)) == SecretValue(string: "from-cli"))
            _ = try await daemon.write(path, content: .value(SecretValue(string: "from-daemon")))
            let seen = try await cli.read(path)
            await cli.shutdown()
            #expect(seen.version == "2")
            #expect(value(of: seen) == SecretValue(string: "from-daemon"))
        }
    }

    @Test func concurrentWritersOnTwoConnectionsAreSerializedBySQLite() async throws {
        try await withTemporaryStore { first, folder in
            let second = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
            let path = try SecretPath("contended")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask { _ = try await store.write(path, content: .value(SecretValue(string: "c\(index)"))) }
                    group.addTask { _ = try await store.list(.root) }
                }
                try await group.waitForAll()
            }
            #expect(try await second.versions(of: path).map(\.id) == (1...20).map(String.init))
            await second.shutdown()
        }
    }

    @Test func concurrentRotationsEachMakeOneVersion() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("rotated")
            _ = try await store.write(path, content: .value(SecretValue(string: "start")))
            let generator = PasswordGenerator()
            let results = try await withThrowingTaskGroup(of: RotationResult.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await store.rotate(RotationRequest(path: path) { generator.generate() }) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Each rotation replaced exactly the version before its own: a chain 1→2→…→11.
            let chain = Dictionary(uniqueKeysWithValues: results.map { ($0.oldVersion ?? "", $0.newVersion) })
            #expect(chain.count == 10)
            #expect((1...10).allSatisfy { chain["\($0)"] == "\($0 + 1)" })
            #expect(try await store.versions(of: path).count == 11)
        }
    }
}
