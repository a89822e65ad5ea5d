// KV v1 against a real OpenBao dev server: the engine found from the mount, conformance, no versions,
// rotation that writes the map back.
import Foundation
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import Testing

extension VaultAPI {
    func enableKV1(_ mount: String) async throws {
        try await must("POST", "sys/mounts/\(mount)", ["type": "kv", "options": ["version": "1"]])
    }

    func putV1(_ mount: String, _ path: String, _ data: [String: Any]) async throws {
        try await must("POST", "\(mount)/\(path)", data)
    }

    func getV1(_ mount: String, _ path: String) async throws -> [String: Any] {
        try await must("GET", "\(mount)/\(path)")?["data"] as? [String: Any] ?? [:]
    }
}

@Suite("Vault KV v1 store against OpenBao", .needs(.openBao))
struct VaultKV1Tests {
    @Test func conformanceWithTheVersionAskedOfVault() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv1-conf")
        try await api.enableKV1(mount)
        let plain = "v1-plain-\(UUID().uuidString)"
        let nested = "v1-nested-\(UUID().uuidString)"
        let password = "v1-password-\(UUID().uuidString)"
        try await api.putV1(mount, "plain", ["value": plain])
        try await api.putV1(mount, "team/app/nested", ["value": nested])
        try await api.putV1(mount, "db", ["username": "app", "password": password])

        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture)
        #expect(store.descriptor.capabilities == [.write, .rotate])
        await StoreConformance.run(
            ConformanceFixture(
                store: store,
                seeded: [
                    try SecretPath("plain"): Array(plain.utf8),
                    try SecretPath("team/app/nested"): Array(nested.utf8),
                ],
                fieldSecret: (
                    try SecretPath("db"), ["username": Array("app".utf8), "password": Array(password.utf8)]
                ),
                scratch: try SecretPath("scratch")))
        await store.shutdown()
        capture.expectNone(of: [plain, nested, password, api.token])
    }

    @Test func noVersionsAndAChangeAtTheStoreIsANewVersionId() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv1-ver")
        try await api.enableKV1(mount)
        try await api.putV1(mount, "app/key", ["value": "first"])
        let store = try await connect(api, mount: mount, capture: LogCapture()) { $0.kvVersion = 1 }
        let path = try SecretPath("app/key")
        let first = try await store.read(path)
        #expect(plainValue(first) == "first")
        #expect(first.createdAt == nil)
        await #expect {
            _ = try await store.versions(of: path)
        } throws: { ($0 as? SecretError)?.code == .unsupported }
        try await api.putV1(mount, "app/key", ["value": "second"])
        let second = try await store.read(path)
        #expect(plainValue(second) == "second" && second.version != first.version)
        #expect(try await store.read(path, version: second.version).version == second.version)
        await #expect {
            _ = try await store.read(path, version: first.version)
        } throws: { ($0 as? SecretError)?.code == .notFound }
        await store.shutdown()
    }

    @Test func rotationChangesOneFieldAndWritesTheRestBack() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv1-rot")
        try await api.enableKV1(mount)
        try await api.putV1(mount, "db", ["username": "app", "password": "old-password-1", "port": 5432])
        let store = try await connect(api, mount: mount, capture: LogCapture())
        let result = try await store.rotate(
            RotationRequest(path: try SecretPath("db"), field: "password", length: 24) {
                SecretValue(string: "new-password-000000000002")
            })
        #expect(result.oldVersion != result.newVersion)
        let raw = try await api.getV1(mount, "db")
        #expect(raw["password"] as? String == "new-password-000000000002")
        #expect(raw["username"] as? String == "app")
        #expect(raw["port"] as? Int == 5432)
        await store.shutdown()
    }

    @Test func aVersionThatIsNeitherOneNorTwoIsRefused() async throws {
        let api = try TestEnvironment.plain()
        await #expect {
            _ = try await connect(api, mount: "secret", capture: LogCapture()) { $0.kvVersion = 3 }
        } throws: { error in
            (error as? SecretError)?.message == "--vault-kv-version must be 1 or 2"
        }
    }

    @Test func theDefaultMountIsFoundToBeVersionTwo() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv2-found")
        try await api.enableKV2(mount)
        let store = try await connect(api, mount: mount, capture: LogCapture())
        #expect(store.descriptor.capabilities == [.versions, .write, .rotate])
        await store.shutdown()
    }
}
