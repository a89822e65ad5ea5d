import Logging
import SecretStoreConformance
import SecretsCore
import Synchronization
import Testing

/// The conformance suite on the reference store, on the cache in front of it, and on a store that
/// breaks promises on purpose (so the suite is seen to catch them, all of them in one run).
@Suite struct ConformanceTests {
    static let seeded: [SecretPath: [UInt8]] = [
        path("alpha"): Array("conformance-alpha-value".utf8),
        path("a/b/c"): Array("conformance-nested-value".utf8),
        path("binary"): [0xff, 0xfe, 0x00, 0x80],
    ]
    static let fields: [String: [UInt8]] = ["username": Array("app".utf8), "password": [0x00, 0x01, 0xff]]

    static func seed(_ store: any SecretStore) async throws -> ConformanceFixture {
        for (secretPath, bytes) in seeded {
            _ = try await store.write(secretPath, content: .value(SecretValue(bytes: bytes)))
        }
        _ = try await store.write(path("db"), content: .fields(fields.mapValues { SecretValue(bytes: $0) }))
        return ConformanceFixture(
            store: store, seeded: seeded, fieldSecret: (path("db"), fields), scratch: path("scratch"))
    }

    @Test func theInMemoryReferenceStorePasses() async throws {
        await StoreConformance.run(try await Self.seed(InMemorySecretStore()))
    }

    @Test func theCacheInFrontOfTheReferenceStorePasses() async throws {
        let cache = CachingSecretStore(
            upstream: InMemorySecretStore(), policy: CachePolicy(), logger: Logger(label: "secretsfs.tests"))
        let fixture = try await Self.seed(cache)
        // Warm the cache first, so every answer the suite checks may come from it.
        for secretPath in Self.seeded.keys { _ = try await cache.read(secretPath) }
        await StoreConformance.run(fixture)
        await cache.shutdown()
    }

    @Test func aServerSuiteIsSkippedOnlyWhenItsServerIsNeitherStartedNorRequired() {
        #expect(!TestServer.openBao.shouldRun(in: [:]))
        #expect(TestServer.openBao.shouldRun(in: ["SECRETSFS_TEST_VAULT_ADDR": "http://127.0.0.1:8200"]))
        #expect(!TestServer.moto.shouldRun(in: ["SECRETSFS_TEST_VAULT_ADDR": "http://127.0.0.1:8200"]))
        #expect(!TestServer.moto.shouldRun(in: ["SECRETSFS_TEST_AWS_ENDPOINT": ""]))
        #expect(TestServer.moto.shouldRun(in: ["SECRETSFS_TEST_REQUIRE_SERVERS": "1"]), "scripts/test fails instead")
    }

    @Test func everyBrokenPromiseIsRecordedNotOnlyTheFirst() async throws {
        let broken = BrokenStore()
        let fixture = try await Self.seed(broken)
        let recorded = Mutex<[String]>([])
        await StoreConformance.run(fixture) { promise in recorded.withLock { $0.append(promise) } }
        let issues = recorded.withLock { $0 }
        #expect(issues.contains { $0.contains("alpha reads back its exact bytes") }, "\(issues)")
        #expect(issues.contains { $0.contains("listing: unexpected error") }, "\(issues)")
        #expect(issues.contains { $0.contains("health reports healthy") }, "the run went on to the end: \(issues)")
        #expect(!issues.contains { $0.contains("a/b/c reads back") }, "only broken promises are recorded")
    }
}

/// The reference store with three promises broken: `alpha` reads wrong bytes, a missing folder
/// is an error, and health says unhealthy.
final class BrokenStore: SecretStore {
    let inner = InMemorySecretStore()
    var descriptor: StoreDescriptor { inner.descriptor }

    func read(_ secretPath: SecretPath, version: String?) async throws -> Secret {
        var secret = try await inner.read(secretPath, version: version)
        if secretPath == path("alpha") { secret.content = .value(SecretValue(string: "wrong")) }
        return secret
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        let listing = try await inner.list(folder)
        if listing.isEmpty { throw SecretError.notFound(folder) }
        return listing
    }

    func versions(of secretPath: SecretPath) async throws -> [VersionInfo] { try await inner.versions(of: secretPath) }

    func write(_ secretPath: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try await inner.write(secretPath, content: content)
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult { try await inner.rotate(request) }

    func health() async -> HealthReport { HealthReport(healthy: false, detail: "broken on purpose") }
}
