import Logging
import SecretStoreConformance
import SecretsCore
import Synchronization
import Testing

@testable import SecretsBackendLocal

@Suite struct LocalLoggingTests {
    @Test func noValueReachesALogLine() async throws {
        let recorder = LogCapture()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: recorder.logger())
        let path = try SecretPath("logged/secret")
        let planted = "PLANTED-SECRET-VALUE-42"
        _ = try await store.write(path, content: .value(SecretValue(string: planted)))
        _ = try await store.write(try SecretPath("m"), content: .fields(["f": SecretValue(string: planted)]))
        let rotation = try await store.rotate(
            RotationRequest(path: try SecretPath("m"), field: "f") {
                SecretValue(string: planted + "-NEW")
            })
        _ = try await store.read(path)
        _ = try await store.query("test", "INSERT INTO secrets (path, current_version) VALUES ('.bad/x', 1)", [])
        _ = try await store.list(.root)
        _ = try await store.list(.root)
        await store.shutdown()

        let lines = recorder.all
        #expect(lines.contains { $0.contains("wrote a new version") })
        #expect(lines.contains { $0.contains("rotated a secret") && $0.contains(rotation.newVersion) })
        #expect(!lines.contains { $0.contains("PLANTED") })
        // The unshowable name is reported, and only once however often it is listed.
        #expect(lines.filter { $0.contains("cannot be shown") }.count == 1)
    }
}
