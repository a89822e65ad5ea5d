// TLS and faults made for real: a dev-tls server with its CA, a bao server this test stops and kills,
// a KV v1 mount whose answers are not KV v2's shape, and a plain HTTP server that is no Vault at all.
import Foundation
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import Testing

@Suite("Vault transport, TLS and faults", .needs(.openBao))
struct VaultTransportTests {
    @Test func tlsWithTheServersCA() async throws {
        let address = try TestEnvironment.require("SECRETSFS_TEST_VAULT_TLS_ADDR")
        let token = try TestEnvironment.require("SECRETSFS_TEST_VAULT_TLS_TOKEN")
        let caFile = try TestEnvironment.require("SECRETSFS_TEST_VAULT_CACERT")
        let api = VaultAPI(address: address, token: token)
        let capture = LogCapture()

        let store = try await connect(api, mount: "secret", capture: capture) { $0.caCertFile = caFile }
        defer { Task { await store.shutdown() } }
        let path = try SecretPath(TestEnvironment.unique("tls") + "/key")
        let value = SecretValue(string: "over-tls-\(UUID().uuidString)")
        _ = try await store.write(path, content: .value(value))
        #expect(try await store.read(path).content == .value(value))

        // VAULT_CACERT is the same thing from the environment.
        var options = VaultOptions()
        options.address = address
        let fromEnvironment = try await VaultSecretStore.connect(
            options: options, environment: ["VAULT_TOKEN": token, "VAULT_CACERT": caFile],
            homeDirectory: "/nonexistent", logger: capture.logger())
        #expect(try await fromEnvironment.read(path).content == .value(value))
        await fromEnvironment.shutdown()

        // Without the CA the handshake fails: the server is not trusted, so it is unavailable to us.
        // AsyncHTTPClient retries a failed handshake until the deadline, so give it a short one.
        let untrusted = await expectSecretError(.unavailable, hiding: [token]) {
            try await connect(api, mount: "secret", capture: capture) { $0.timeout = .seconds(3) }
        }
        #expect(untrusted?.description.contains("TLS") == true, "\(untrusted?.description ?? "")")
        await expectSecretError(.configuration) {
            try await connect(api, mount: "secret", capture: capture) { $0.caCertFile = "/nonexistent/ca.pem" }
        }
        let notPEM = try temporaryFile("this is not a certificate")
        defer { try? FileManager.default.removeItem(atPath: notPEM) }
        await expectSecretError(.configuration) {
            try await connect(api, mount: "secret", capture: capture) { $0.caCertFile = notPEM }
        }

        let unverified = try await connect(api, mount: "secret", capture: capture) { $0.skipVerify = true }
        #expect(try await unverified.read(path).content == .value(value))
        await unverified.shutdown()
        #expect(capture.all.contains { $0.hasPrefix("warning") && $0.contains("verification is off") })
        capture.expectNone(of: [token, value.utf8String() ?? ""])
    }

    @Test func stoppedAndKilledServerIsUnavailableWithinTheTimeout() async throws {
        let port = try freePort()
        let token = "root-" + UUID().uuidString.lowercased()
        let server = try ChildProcess(
            ["bao", "server", "-dev", "-dev-listen-address=127.0.0.1:\(port)"],
            environment: ["BAO_DEV_ROOT_TOKEN_ID": token])
        defer { server.stop() }
        let api = VaultAPI(address: "http://127.0.0.1:\(port)", token: token)
        let ready = await waitUntil(seconds: 30) {
            (try? await api.call("GET", "sys/mounts/secret"))?.0 == 200
        }
        try #require(ready, "the test's own bao server became ready")
        _ = try await api.put("secret", "app/key", ["value": "before-the-fault"])

        let capture = LogCapture()
        // A 2 s deadline: a sealed server's first 503 must come back inside it on a loaded CI machine.
        let store = try await connect(api, mount: "secret", capture: capture) { $0.timeout = .seconds(2) }
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("app/key")
        #expect(plainValue(try await store.read(path)) == "before-the-fault")

        // A hung server: connections are accepted by the kernel, nothing answers.
        await server.pause()
        var started = ContinuousClock.now
        let hung = await expectSecretError(.unavailable, hiding: [token]) { try await store.read(path) }
        #expect(hung?.description.contains("timed out") == true)
        #expect(hung?.path == path)
        #expect(ContinuousClock.now - started < .seconds(6), "the call deadline bounds a hung server")
        let health = await store.health()
        #expect(!health.healthy)
        server.signal(SIGCONT)
        #expect(plainValue(try await store.read(path)) == "before-the-fault", "the store recovers with the server")

        // A sealed server answers 503: reads are retried within the deadline, then unavailable.
        try await api.must("PUT", "sys/seal")
        started = ContinuousClock.now
        let sealed = await expectSecretError(.unavailable) { try await store.read(path) }
        #expect(sealed?.description.contains("sealed") == true)
        #expect(capture.all.contains { $0.contains("Vault answered 503; retrying") }, "a read is retried on 503")
        #expect(ContinuousClock.now - started < .seconds(6))
        let sealedHealth = await store.health()
        #expect(!sealedHealth.healthy && sealedHealth.detail.contains("sealed"), "\(sealedHealth.detail)")

        server.stop()
        started = ContinuousClock.now
        let dead = await expectSecretError(.unavailable, hiding: [token]) { try await store.read(path) }
        // A pooled keep-alive connection may see the kill as a reset rather than a refusal.
        let deadText = dead?.description ?? ""
        #expect(
            ["refused", "reset", "closed", "connection", "timed out"].contains { deadText.contains($0) }, "\(deadText)")
        await expectSecretError(.unavailable) { try await store.list(.root) }
        #expect(ContinuousClock.now - started < .seconds(10))
        capture.expectNone(of: ["before-the-fault", token])
    }

    @Test func answersThatAreNotKVv2AreMalformed() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-v1")
        try await api.must("POST", "sys/mounts/\(mount)", ["type": "kv", "options": ["version": "1"]])
        // On KV v1, `<mount>/data/x` is just a secret named `data/x`: its answer lacks KV v2's metadata.
        let planted = "v1-value-\(UUID().uuidString)"
        try await api.must("POST", "\(mount)/data/x", ["value": planted])
        try await api.must("POST", "\(mount)/metadata/y", ["keys": "not-a-list"])

        let capture = LogCapture()
        // Told it is KV v2 (else the store asks Vault and speaks v1 to it): every answer is the wrong shape.
        let store = try await connect(api, mount: mount, capture: capture) { $0.kvVersion = 2 }
        defer { Task { await store.shutdown() } }
        await expectSecretError(.malformedResponse, hiding: [planted]) { try await store.read(try SecretPath("x")) }
        await expectSecretError(.malformedResponse) { try await store.versions(of: try SecretPath("y")) }
        #expect(capture.all.contains { $0.contains("not understood") && $0.contains("x") })
        capture.expectNone(of: [planted, "not-a-list", api.token])
    }

    @Test func anAddressThatIsNotVaultFailsClearly() async throws {
        _ = try TestEnvironment.plain()
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("www"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ChildProcess(
            ["python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory.path, "\(port)"])
        defer { server.stop() }
        let api = VaultAPI(address: "http://127.0.0.1:\(port)", token: "not-a-real-token-\(UUID().uuidString)")
        let ready = await waitUntil(seconds: 60) { (try? await api.call("GET", "")) != nil }
        try #require(ready, "the plain HTTP server became ready")

        let capture = LogCapture()
        // Nothing at lookup-self: this is not a Vault API.
        await expectSecretError(.configuration, hiding: [api.token]) {
            try await connect(api, mount: "secret", capture: capture)
        }
        // Something at lookup-self that is not JSON at all.
        let lookup = directory.appendingPathComponent("v1/auth/token")
        try FileManager.default.createDirectory(at: lookup, withIntermediateDirectories: true)
        try Data("<html>hello</html>".utf8).write(to: lookup.appendingPathComponent("lookup-self"))
        await expectSecretError(.malformedResponse, hiding: [api.token]) {
            try await connect(api, mount: "secret", capture: capture)
        }
        // Nobody listening at all.
        server.stop()
        await expectSecretError(.unavailable) {
            try await connect(api, mount: "secret", capture: capture) { $0.timeout = .seconds(3) }
        }
        capture.expectNone(of: [api.token])
    }
}
