// Logins, renewal and namespaces against a real OpenBao dev server.
import Foundation
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
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
        let signed = try run("/usr/bin/env", ["python3", "-c", jwtScript])
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

    @Test func shortLivedTokenIsRenewedInTheBackground() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let options: [String: Any] = ["policies": [policy], "ttl": "4s", "explicit_max_ttl": "60s", "renewable": true]
        let token = try await api.createToken(options)
        let control = try await api.createToken(options)

        let capture = LogCapture()
        let store = try await connect(VaultAPI(address: api.address, token: token), mount: mount, capture: capture)
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("app/key")
        try await Task.sleep(nanoseconds: 7_000_000_000)
        // The control token, never renewed, shows the TTL is real.
        let (controlStatus, _) = try await VaultAPI(address: api.address, token: control).call(
            "GET", "auth/token/lookup-self")
        #expect(controlStatus == 403, "an unrenewed token with ttl=4s has expired after 7 s")
        #expect(plainValue(try await store.read(path)) == value, "the renewed token still works after its first TTL")
        #expect(capture.all.filter { $0.contains("Vault token renewed") }.count >= 2)
        let beforeShutdown = capture.all.filter { $0.contains("renew") }.count
        await store.shutdown()
        try await Task.sleep(nanoseconds: 3_000_000_000)
        #expect(capture.all.filter { $0.contains("renew") }.count == beforeShutdown, "no renewal after shutdown")
        capture.expectNone(of: [value, token, control, api.token])
    }

    @Test func loginMethodLogsInAgainAtMaxTTL() async throws {
        let api = try TestEnvironment.plain()
        let (mount, policy, value) = try await readOnlySetup(api)
        let (authMount, roleID, secretID) = try await appRole(
            api, policy: policy, role: ["token_ttl": "3s", "token_max_ttl": "3s"])
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
        try await Task.sleep(nanoseconds: 6_500_000_000)
        // Counted before any call, so a login forced by a refused call cannot stand in for the background one.
        #expect(capture.all.filter { $0.contains("Logged in to Vault") }.count >= 2, "the background logged in again")
        #expect(plainValue(try await store.read(try SecretPath("app/key"))) == value)
        #expect(!capture.all.contains { $0.contains("refused the token") }, "no call ever met an expired token")
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
