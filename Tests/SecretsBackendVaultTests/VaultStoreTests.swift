// The store against a real OpenBao dev server: conformance, versions, fields, rotation and errors.
import Foundation
import Logging
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import Testing

@Suite("Vault KV v2 store against OpenBao", .needs(.openBao))
struct VaultStoreTests {
    @Test func conformance() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-conf")
        try await api.enableKV2(mount)
        let plain = "plain-\(UUID().uuidString)"
        let nested = "nested-\(UUID().uuidString)"
        let password = "password-\(UUID().uuidString)"
        _ = try await api.put(mount, "plain", ["value": plain])
        _ = try await api.put(mount, "team/app/nested", ["value": nested])
        _ = try await api.put(mount, "db", ["username": "app", "password": password])

        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture)
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
        #expect(store.descriptor.backend == "vault")
        #expect(store.descriptor.address == api.address + "/v1/" + mount)
        #expect(store.descriptor.capabilities == [.versions, .write, .rotate])
        await store.shutdown()
        capture.expectNone(of: [plain, nested, password, api.token])
    }

    @Test func binaryValuesRoundTripAndStayReadableToOtherTools() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-bin")
        try await api.enableKV2(mount)
        let store = try await connect(api, mount: mount, capture: LogCapture())
        defer { Task { await store.shutdown() } }
        let bytes: [UInt8] = [0, 1, 2, 255, 254, 0x80]
        let path = try SecretPath("cert")
        _ = try await store.write(
            path, content: .fields(["der": SecretValue(bytes: bytes), "name": SecretValue(string: "x")]))
        let read = try await store.read(path)
        #expect(read.content == .fields(["der": SecretValue(bytes: bytes), "name": SecretValue(string: "x")]))
        let raw = try await api.get(mount, "cert")
        #expect(raw["der"] as? String == Data(bytes).base64EncodedString())
        #expect(raw[".secretsfs-base64"] as? [String] == ["der"])
        #expect(raw["name"] as? String == "x")
    }

    @Test func versionsLeaveOutDeletedAndDestroyed() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-ver")
        try await api.enableKV2(mount)
        for index in 1...4 { _ = try await api.put(mount, "app/key", ["value": "v\(index)"]) }
        try await api.must("POST", "\(mount)/delete/app/key", ["versions": [2]])
        try await api.must("POST", "\(mount)/destroy/app/key", ["versions": [1]])

        let store = try await connect(api, mount: mount, capture: LogCapture())
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("app/key")
        let versions = try await store.versions(of: path)
        #expect(versions.map(\.id) == ["3", "4"])
        #expect(versions.map(\.labels) == [[VersionInfo.previous], [VersionInfo.current]])
        #expect(versions.allSatisfy { $0.createdAt != nil })
        await expectSecretError(.notFound) { try await store.read(path, version: "1") }
        await expectSecretError(.notFound) { try await store.read(path, version: "2") }
        await expectSecretError(.notFound) { try await store.read(path, version: "0") }
        await expectSecretError(.notFound) { try await store.read(path, version: "abc") }
        #expect(plainValue(try await store.read(path, version: "3")) == "v3")
        let current = try await store.read(path)
        #expect(current.version == "4")
        #expect(plainValue(current) == "v4")

        // A deleted current version: the secret reads as missing, and no label claims an older one is current.
        try await api.must("DELETE", "\(mount)/data/app/key")
        await expectSecretError(.notFound) { try await store.read(path) }
        let after = try await store.versions(of: path)
        #expect(after.map(\.id) == ["3"])
        #expect(after.first?.labels == [])
        await expectSecretError(.notFound) { try await store.versions(of: try SecretPath("app/missing")) }
        // `app` is a folder, not a secret.
        await expectSecretError(.notFound) { try await store.versions(of: try SecretPath("app")) }
    }

    @Test func fieldRuleAndNonStringValues() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-fields")
        try await api.enableKV2(mount)
        _ = try await api.put(mount, "single", ["value": "only"])
        _ = try await api.put(mount, "pair", ["value": "a", "other": "b"])
        _ = try await api.put(
            mount, "typed", ["port": 5432, "tls": true, "nothing": NSNull(), "tags": ["x", 1], "password": "old"])

        let store = try await connect(api, mount: mount, capture: LogCapture())
        defer { Task { await store.shutdown() } }
        #expect(try await store.read(try SecretPath("single")).content == .value(SecretValue(string: "only")))
        #expect(
            try await store.read(try SecretPath("pair")).content
                == .fields(["value": SecretValue(string: "a"), "other": SecretValue(string: "b")]))
        let typed = try await store.read(try SecretPath("typed"))
        guard case .fields(let fields) = typed.content else {
            Issue.record("a map of several fields reads as fields")
            return
        }
        #expect(fields["port"]?.utf8String() == "5432")
        #expect(fields["tls"]?.utf8String() == "true")
        #expect(fields["nothing"]?.utf8String() == "null")
        #expect(fields["tags"]?.utf8String() == #"["x",1]"#)

        // Rotating one field keeps every other field as it was in Vault, JSON types included.
        let fresh = SecretValue(string: "rotated-\(UUID().uuidString)")
        let result = try await store.rotate(RotationRequest(path: try SecretPath("typed"), field: "password") { fresh })
        #expect(result.oldVersion == "1")
        #expect(result.newVersion == "2")
        #expect(result.field == "password")
        let raw = try await api.get(mount, "typed")
        #expect(raw["password"] as? String == fresh.utf8String())
        #expect((raw["port"] as? NSNumber)?.intValue == 5432)
        #expect(raw["tls"] as? Bool == true)
        #expect(raw["nothing"] is NSNull)
        #expect(Set(raw.keys) == ["port", "tls", "nothing", "tags", "password"])

        await expectSecretError(.notFound) {
            try await store.rotate(RotationRequest(path: try SecretPath("typed"), field: "nope") { fresh })
        }
        await expectSecretError(.invalidArgument) {
            try await store.rotate(RotationRequest(path: try SecretPath("typed")) { fresh })
        }
        await expectSecretError(.notFound) {
            try await store.rotate(RotationRequest(path: try SecretPath("single"), field: "value") { fresh })
        }
        #expect(
            try await api.get(mount, "typed")["password"] as? String == fresh.utf8String(),
            "failed rotations change nothing")
    }

    @Test func listingSkipsNamesThatCannotBeFiles() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-list")
        try await api.enableKV2(mount)
        _ = try await api.put(mount, "good", ["value": "1"])
        _ = try await api.put(mount, ".hidden", ["value": "2"])
        _ = try await api.put(mount, "both", ["value": "3"])
        _ = try await api.put(mount, "both/child", ["value": "4"])
        _ = try await api.put(mount, "sp%20ace%25%3F%23", ["value": "5"])

        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture)
        defer { Task { await store.shutdown() } }
        let root = try await store.list(.root)
        #expect(root == Listing(secrets: ["good", "both", "sp ace%?#"], folders: ["both"]))
        _ = try await store.list(.root)
        #expect(capture.all.filter { $0.contains("cannot be a file name") && $0.contains(".hidden") }.count == 1)
        #expect(plainValue(try await store.read(try SecretPath("sp ace%?#"))) == "5")
        #expect(try await store.list(try SecretPath("both")) == Listing(secrets: ["child"]))
        #expect(try await store.list(try SecretPath("no/such")).isEmpty)
    }

    @Test func prefixIsTheMountsRoot() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-prefix")
        try await api.enableKV2(mount)
        _ = try await api.put(mount, "teams/a/key", ["value": "inside"])
        _ = try await api.put(mount, "outside", ["value": "outside"])
        let store = try await connect(api, mount: mount, capture: LogCapture()) { $0.prefix = "/teams/a/" }
        defer { Task { await store.shutdown() } }
        #expect(try await store.list(.root) == Listing(secrets: ["key"]))
        #expect(plainValue(try await store.read(try SecretPath("key"))) == "inside")
        await expectSecretError(.notFound) { try await store.read(try SecretPath("outside")) }
        #expect(store.descriptor.address.hasSuffix("/v1/\(mount)/teams/a"))
    }

    @Test func casConflictIsRetriedOnceThenReported() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-cas")
        try await api.enableKV2(mount)
        _ = try await api.put(mount, "key", ["value": "start"])
        let capture = LogCapture()
        let store = try await connect(api, mount: mount, capture: capture)
        defer { Task { await store.shutdown() } }
        let path = try SecretPath("key")
        // `generate` runs between the rotation's read and its write: a write there is a concurrent writer.
        let once = SecretValue(string: "won-second-round")
        let interloper = try Interloper(api: api, apiPath: "\(mount)/data/key", writes: 1)
        let result = try await store.rotate(
            RotationRequest(path: path) {
                interloper.interfere()
                return once
            })
        #expect(result.oldVersion == "2", "the second round read the interloper's version")
        #expect(result.newVersion == "3")
        #expect(try await api.get(mount, "key")["value"] as? String == "won-second-round")

        let persistent = try Interloper(api: api, apiPath: "\(mount)/data/key", writes: 2)
        await expectSecretError(.conflict) {
            try await store.rotate(
                RotationRequest(path: path) {
                    persistent.interfere()
                    return SecretValue(string: "never-written")
                })
        }
        #expect(persistent.count == 2, "one retry, no more")
        #expect(try await api.get(mount, "key")["value"] as? String == "interloper", "a lost rotation writes nothing")
        #expect(capture.all.contains { $0.contains("check-and-set lost twice") })
        capture.expectNone(of: ["won-second-round", "never-written", "interloper", api.token])
    }

    @Test func missingAndDenied() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("kv-deny")
        try await api.enableKV2(mount)
        let planted = "denied-\(UUID().uuidString)"
        _ = try await api.put(mount, "private/key", ["value": planted])
        _ = try await api.put(mount, "public/key", ["value": "open"])
        let policy = TestEnvironment.unique("public-only")
        try await api.policy(
            policy,
            """
            path "\(mount)/data/public/*" { capabilities = ["read"] }
            path "\(mount)/metadata/public/*" { capabilities = ["read", "list"] }
            """)
        let token = try await api.createToken(["policies": [policy], "ttl": "10m"])
        let limited = VaultAPI(address: api.address, token: token)

        let capture = LogCapture()
        let store = try await connect(limited, mount: mount, capture: capture)
        defer { Task { await store.shutdown() } }
        #expect(plainValue(try await store.read(try SecretPath("public/key"))) == "open")
        let denied = try SecretPath("private/key")
        let error = await expectSecretError(.permissionDenied, hiding: [planted, token]) {
            try await store.read(denied)
        }
        #expect(error?.path == denied)
        #expect(error?.description.contains("403") == true)
        await expectSecretError(.permissionDenied) { try await store.list(try SecretPath("private")) }
        await expectSecretError(.permissionDenied) { try await store.versions(of: denied) }
        await expectSecretError(.permissionDenied) {
            try await store.write(try SecretPath("public/key"), content: .value(SecretValue(string: "nope")))
        }
        await expectSecretError(.notFound) { try await store.read(try SecretPath("public/missing")) }
        capture.expectNone(of: [planted, token, api.token])
    }

    @Test func healthReportsAnsweringServer() async throws {
        let api = try TestEnvironment.plain()
        let store = try await connect(api, mount: "secret", capture: LogCapture())
        defer { Task { await store.shutdown() } }
        let health = await store.health()
        #expect(health.healthy, "\(health.detail)")
        #expect(!health.detail.contains(api.token))
    }
}

/// Writes a new version of one secret through a blocking `curl` from inside a rotation's `generate`,
/// which is synchronous. The token reaches curl in a header file, not on its command line.
final class Interloper: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0
    private let writes: Int
    private let url: String
    private let headerFile: String

    init(api: VaultAPI, apiPath: String, writes: Int) throws {
        self.writes = writes
        url = api.address + "/v1/" + apiPath
        headerFile = try temporaryFile("X-Vault-Token: \(api.token)\n")
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }

    /// Writes a version on each of the first `writes` calls.
    func interfere() {
        lock.lock()
        calls += 1
        let write = calls <= writes
        lock.unlock()
        guard write else { return }
        let body = #"{"data":{"value":"interloper"}}"#
        _ = try? run("/usr/bin/curl", ["-sf", "-X", "POST", "-H", "@\(headerFile)", "--data", body, url])
    }

    deinit { try? FileManager.default.removeItem(atPath: headerFile) }
}
