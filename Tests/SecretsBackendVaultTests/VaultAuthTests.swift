// Logins, renewal and namespaces against a real OpenBao dev server.
import Foundation
import Logging
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import ServiceLifecycle
import Testing

@Suite("Vault auth and namespaces against OpenBao", .needs(.openBao))
struct VaultAuthTests {
    /// A KV mount with one secret and a read-only policy on it.
    private func readOnlySetup(_ api: VaultAPI) async throws -> (mount: String, policy: String, value: String) {
        let mount = TestEnvironment.unique("kv-auth")
        try await api.enableKV2(mount)
        let value = "auth-\(UUID().uuidString)"
        _ = try await api.put(mount, "app/key", ["value": value])
        let policy = TestEnvironment.unique("read-only")
        try await api.policy(
            policy,
            """
            path "\(mount)/data/*" { capabilities = ["read"] }
            path "\(mount)/metadata/*" { capabilities = ["read", "list"] }
            """)
        return (mount, policy, value)
    }

    private func appRole(
        _ api: VaultAPI, policy: String, role: [String: Any] = [:]
    ) async throws -> (mount: String, roleID: String, secretID: String) {
        let authMount = TestEnvironment.unique("approle")
        try await api.must("POST", "sys/auth/\(authMount)", ["type": "approle"])
        try await api.must(
            "POST", "auth/\(authMount)/role/app", ["token_policies": [policy], "token_ttl": "10m"].merging(role) { $1 })
        let roleBody = try await api.must("GET", "auth/\(authMount)/role/app/role-id")
        let secretBody = try await api.must("POST", "auth/\(authMount)/role/app/secret-id")
        guard let roleID = (roleBody?["data"] as? [String: Any])?["role_id"] as? String,
            let secretID = (secretBody?["data"] as? [String: Any])?["secret_id"] as? String
        else { throw VaultAPI.Failure(description: "approle setup answered no ids") }
        return (authMount, roleID, secretID)
    }

    @Test func appRoleReadOnlyReadsButCannotRotate() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let (authMount, roleID, secretID) = try await appRole(api, policy: policy)
        let secretIDFile = try temporaryFile(secretID + "\n")
        defer { try? FileManager.default.removeItem(atPath: secretIDFile) }

        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture) {
            $0.auth = "approle"
            $0.roleID = roleID
            $0.secretIDFile = secretIDFile
            $0.authMount = authMount
        }
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("app/key")
        #expect(plainValue(try await store.read(path)) == value)
        await expectSecretError(.permissionDenied, hiding: [value, secretID]) {
            try await store.rotate(RotationRequest(path: path) { SecretValue(string: "nope") })
        }
        #expect(try await api.get(mount, "app/key")["value"] as? String == value)
        capture.expectNone(of: [value, secretID, api.token])
    }

    @Test func appRoleWithWrongSecretIDIsDenied() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, _) = try await readOnlySetup(api)
        let (authMount, roleID, _) = try await appRole(api, policy: policy)
        let wrong = UUID().uuidString.lowercased()
        let secretIDFile = try temporaryFile(wrong)
        defer { try? FileManager.default.removeItem(atPath: secretIDFile) }
        let capture = LogCapture()
        await expectSecretError(.permissionDenied, hiding: [wrong]) {
            try await connect(api, mount: mount, capture: capture) {
                $0.auth = "approle"
                $0.roleID = roleID
                $0.secretIDFile = secretIDFile
                $0.authMount = authMount
            }
        }
        await expectSecretError(.configuration) {
            try await connect(api, mount: mount, capture: capture) {
                $0.auth = "approle"
                $0.roleID = roleID
                $0.secretIDFile = "/nonexistent/secret-id"
                $0.authMount = authMount
            }
        }
        capture.expectNone(of: [wrong])
    }

    @Test func appRoleLogsInAgainWhenVaultDropsTheToken() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let (authMount, roleID, secretID) = try await appRole(api, policy: policy)
        let secretIDFile = try temporaryFile(secretID)
        defer { try? FileManager.default.removeItem(atPath: secretIDFile) }
        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture) {
            $0.auth = "approle"
            $0.roleID = roleID
            $0.secretIDFile = secretIDFile
            $0.authMount = authMount
        }
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("app/key")
        #expect(plainValue(try await store.read(path)) == value)

        // Revoke every token the role has issued, as an operator would, without learning the token.
        let accessors = try await api.must("LIST", "auth/token/accessors")
        var revoked = 0
        for accessor in (accessors?["data"] as? [String: Any])?["keys"] as? [String] ?? [] {
            let lookup = try await api.must("POST", "auth/token/lookup-accessor", ["accessor": accessor])
            let policies = (lookup?["data"] as? [String: Any])?["policies"] as? [String] ?? []
            if policies.contains(policy) {
                try await api.must("POST", "auth/token/revoke-accessor", ["accessor": accessor])
                revoked += 1
            }
        }
        #expect(revoked == 1)
        #expect(plainValue(try await store.read(path)) == value, "a dropped token is replaced by a new login")
        #expect(capture.all.contains { $0.contains("logging in again") })
        capture.expectNone(of: [value, secretID, api.token])
    }

    @Test func jwtLoginWithGeneratedKeyPair() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let signed = try await ProgramRun.run("/usr/bin/env", ["python3", "-c", jwtScript]).output
        let lines = signed.split(separator: "\n", omittingEmptySubsequences: false)
        guard let separator = lines.firstIndex(of: "--JWT--") else {
            throw VaultAPI.Failure(description: "the JWT helper printed no token")
        }
        let publicKey = lines[..<separator].joined(separator: "\n")
        let jwt = String(lines[separator + 1])

        let authMount = TestEnvironment.unique("jwt")
        try await api.must("POST", "sys/auth/\(authMount)", ["type": "jwt"])
        try await api.must("POST", "auth/\(authMount)/config", ["jwt_validation_pubkeys": [publicKey]])
        try await api.must(
            "POST", "auth/\(authMount)/role/reader",
            [
                "role_type": "jwt", "user_claim": "sub", "bound_audiences": ["secretsfs"],
                "token_policies": [policy], "token_ttl": "10m",
            ])
        let jwtFile = try temporaryFile(jwt)
        defer { try? FileManager.default.removeItem(atPath: jwtFile) }

        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture) {
            $0.auth = "jwt"
            $0.role = "reader"
            $0.jwtFile = jwtFile
            $0.authMount = authMount
        }
        defer { Task { await store.shutdown() } }
        #expect(plainValue(try await store.read(try SecretPath("app/key"))) == value)

        await expectSecretError(.permissionDenied, hiding: [jwt]) {
            try await connect(api, mount: mount, capture: capture) {
                $0.auth = "jwt"
                $0.role = "no-such-role"
                $0.jwtFile = jwtFile
                $0.authMount = authMount
            }
        }
        capture.expectNone(of: [value, jwt, api.token])
    }

    /// The store's token renewal run as the mount runs it: in a `ServiceGroup`, on the store's clock.
    private func runRenewal(_ store: VaultSecretStore) -> (ServiceGroup, Task<Void, any Error>) {
        let group = ServiceGroup(services: [store.tokenRenewal], logger: Logger(label: "test.renewal"))
        return (group, Task { try await group.run() })
    }

    /// Renewal is due two thirds into the token's TTL by the store's clock, which the test moves: the
    /// server's TTLs are long, so only that clock decides, and nothing sleeps.
    @Test func shortLivedTokenIsRenewedInTheBackground() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let options: [String: Any] = ["policies": [policy], "ttl": "1h", "explicit_max_ttl": "10h", "renewable": true]
        let token = try await api.createToken(options)

        let clock = ManualTimeSource()
        let capture = LogCapture()
        let store = try await connect(
            VaultAPI(address: api.address, token: token), mount: mount, capture: capture, clock: clock)
        defer { Task { await store.shutdown() } }
        let (renewal, running) = runRenewal(store)
        let renewals = { capture.all.filter { $0.contains("Vault token renewed") }.count }
        let path = try SecretPath("app/key")

        #expect(await waitUntil(seconds: 10) { clock.sleeperCount == 1 }, "the renewal waits on the store's clock")
        clock.advance(by: .seconds(2000))
        #expect(clock.sleeperCount == 1 && renewals() == 0, "not before two thirds of the TTL")
        clock.advance(by: .seconds(400))
        #expect(await waitUntil(seconds: 10) { renewals() == 1 }, "renewed two thirds into the TTL")
        // The server saw it: the token's lookup shows when it was last renewed.
        let (status, lookup) = try await VaultAPI(address: api.address, token: token).call(
            "GET", "auth/token/lookup-self")
        #expect(status == 200)
        let renewedAt = (lookup?["data"] as? [String: Any])?["last_renewal_time"] as? NSNumber
        #expect((renewedAt?.intValue ?? 0) > 0, "Vault recorded the renewal")

        #expect(await waitUntil(seconds: 10) { clock.sleeperCount == 1 }, "the next renewal is scheduled")
        clock.advance(by: .seconds(2400))
        #expect(await waitUntil(seconds: 10) { renewals() == 2 })
        #expect(plainValue(try await store.read(path)) == value, "the renewed token still works")

        // Graceful shutdown (SIGTERM to a mount) stops the renewal: its timer is cancelled.
        #expect(await waitUntil(seconds: 10) { clock.sleeperCount == 1 })
        let beforeShutdown = capture.all.filter { $0.contains("renew") }.count
        await renewal.triggerGracefulShutdown()
        try await running.value
        #expect(clock.sleeperCount == 0, "no timer is left waiting")
        clock.advance(by: .seconds(7200))
        await store.shutdown()
        #expect(capture.all.filter { $0.contains("renew") }.count == beforeShutdown, "no renewal after shutdown")
        capture.expectNone(of: [value, token, api.token])
    }

    /// A login method whose token cannot be renewed logs in again in the background before the token
    /// expires, so no call meets an expired token. Batch tokens are never renewable; the store's clock
    /// says when the time has come.
    @Test func loginMethodLogsInAgainWhenItsTokenCannotBeRenewed() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let (authMount, roleID, secretID) = try await appRole(
            api, policy: policy, role: ["token_type": "batch", "token_ttl": "1h", "token_max_ttl": "1h"])
        let secretIDFile = try temporaryFile(secretID)
        defer { try? FileManager.default.removeItem(atPath: secretIDFile) }
        let clock = ManualTimeSource()
        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture, clock: clock) {
            $0.auth = "approle"
            $0.roleID = roleID
            $0.secretIDFile = secretIDFile
            $0.authMount = authMount
        }
        defer { Task { await store.shutdown() } }
        let (renewal, running) = runRenewal(store)
        let logins = { capture.all.filter { $0.contains("Logged in to Vault") }.count }
        #expect(logins() == 1)
        #expect(await waitUntil(seconds: 10) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(2400))
        // Counted before any call, so a login forced by a refused call cannot stand in for the background one.
        #expect(await waitUntil(seconds: 10) { logins() >= 2 }, "the background logged in again")
        #expect(plainValue(try await store.read(try SecretPath("app/key"))) == value)
        #expect(!capture.all.contains { $0.contains("refused the token") }, "no call ever met an expired token")
        await renewal.triggerGracefulShutdown()
        try await running.value
        capture.expectNone(of: [value, secretID])
    }

    @Test func namespaceIsolatesMounts() async throws {
        let api = try TestEnvironment.plain()
        let namespace = TestEnvironment.unique("ns")
        let mount = TestEnvironment.unique("kv-ns")
        try await api.must("POST", "sys/namespaces/\(namespace)")
        var inside = api
        inside.namespace = namespace
        try await inside.enableKV2(mount)
        try await api.enableKV2(mount)
        _ = try await inside.put(mount, "shared/key", ["value": "inside-namespace"])
        _ = try await api.put(mount, "shared/key", ["value": "root-namespace"])

        let capture = LogCapture()
        let namespaced = try await connect(api, mount: mount, capture: capture) { $0.namespace = namespace }
        defer { Task { await namespaced.shutdown() } }
        let rooted = try await connect(api, mount: mount, capture: capture)
        defer { Task { await rooted.shutdown() } }
        let path = try SecretPath("shared/key")
        #expect(plainValue(try await namespaced.read(path)) == "inside-namespace")
        #expect(plainValue(try await rooted.read(path)) == "root-namespace")
        #expect(namespaced.descriptor.address == "\(api.address)/v1/\(namespace)/\(mount)")

        // VAULT_NAMESPACE works the same, and the flag wins over it.
        var options = VaultOptions()
        options.address = api.address
        options.mount = mount
        let fromEnvironment = try await VaultSecretStore.connect(
            options: options, environment: ["VAULT_TOKEN": api.token, "VAULT_NAMESPACE": namespace],
            homeDirectory: "/nonexistent", logger: capture.logger())
        defer { Task { await fromEnvironment.shutdown() } }
        #expect(plainValue(try await fromEnvironment.read(path)) == "inside-namespace")
        _ = try await namespaced.write(try SecretPath("only-inside"), content: .value(SecretValue(string: "x")))
        await expectSecretError(.notFound) { try await rooted.read(try SecretPath("only-inside")) }
    }
}

/// Makes an RSA key pair and an RS256 JWT (sub, aud, iat, nbf, exp) with python3's `cryptography`;
/// prints the public key PEM, a `--JWT--` line, then the token.
private let jwtScript = #"""
    import base64, json, time
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = {"sub": "secretsfs-test", "aud": "secretsfs", "iat": now, "nbf": now - 5, "exp": now + 600}
    claims = b64(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    print(pub.decode().strip())
    print("--JWT--")
    print(f"{header}.{claims}.{b64(signature)}")
    """#
