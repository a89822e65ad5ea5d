// PKI certificates against a real OpenBao dev server: a PKI engine enabled here through the API, a root
// generated inside it, a role; then what the store shows, re-issues, failures, and the renewal timing on
// a clock the test moves.
import Foundation
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import Synchronization
import Testing

extension VaultAPI {
    /// A PKI engine at `mount` with an internal root and a role `web` for `*.example.test` and localhost.
    func enablePKI(_ mount: String) async throws {
        try await must("POST", "sys/mounts/\(mount)", ["type": "pki"])
        try await must("POST", "sys/mounts/\(mount)/tune", ["max_lease_ttl": "87600h"])
        try await must(
            "POST", "\(mount)/root/generate/internal", ["common_name": "secretsfs test root", "ttl": "8760h"])
        try await must(
            "POST", "\(mount)/roles/web",
            [
                "allowed_domains": ["example.test", "localhost"], "allow_subdomains": true, "allow_bare_domains": true,
                "allow_localhost": true, "allow_ip_sans": true, "max_ttl": "72h",
            ])
    }
}

@Suite("Vault PKI certificates against OpenBao", .needs(.openBao))
struct VaultCertificatesTests {
    static let folder = try! SecretPath("tls/web")

    func request(_ mount: String, role: String = "web", ttl: Duration = .seconds(3600), fraction: Double = 0.5)
        throws -> VaultCertificateRequest
    {
        try VaultCertificateRequest(
            path: Self.folder, role: "\(mount)/issue/\(role)", commonName: "web.example.test",
            altNames: ["localhost"], ipSANs: ["127.0.0.1"], ttl: ttl, renewFraction: fraction, renewSpread: 0)
    }

    func fields(_ secret: Secret) -> [String: String] {
        guard case .fields(let fields) = secret.content else { return [:] }
        return fields.compactMapValues { $0.utf8String() }
    }

    @Test func aFolderOfFiveFilesFromOneIssueReissuedOnRotate() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("pki")
        try await api.enablePKI(mount)
        let capture = LogCapture()
        let store = try await connect(api, mount: "secret", capture: capture) {
            $0.certificates = [try! request(mount)]
        }

        #expect(try await store.list(.root).folders.contains("tls"))
        #expect(try await store.list(try SecretPath("tls")).secrets == ["web"])
        #expect(try await store.list(Self.folder).isEmpty)
        let first = try await store.read(Self.folder)
        let files = fields(first)
        #expect(Set(files.keys) == ["certificate", "private_key", "issuing_ca", "ca_chain", "full_chain"])
        #expect(files["certificate"]?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
        #expect(files["private_key"]?.contains("PRIVATE KEY-----") == true)
        #expect(files.values.allSatisfy { $0.hasSuffix("-----\n") })
        #expect(files["full_chain"] == (files["certificate"] ?? "") + (files["ca_chain"] ?? ""))
        #expect(files["ca_chain"] == files["issuing_ca"])
        // Read again: the same certificate, not a new issue.
        #expect(try await store.read(Self.folder).version == first.version)
        // Nothing inside the folder but its fields, and no call to KV for them.
        await #expect {
            _ = try await store.read(try SecretPath("tls/web/nope"))
        } throws: { ($0 as? SecretError)?.code == .notFound }

        let rotated = try await store.rotate(RotationRequest(path: Self.folder) { SecretValue(bytes: [UInt8]()) })
        #expect(rotated.oldVersion == first.version && rotated.newVersion != first.version)
        let second = try await store.read(Self.folder)
        #expect(second.version == rotated.newVersion)
        #expect(fields(second)["private_key"] != files["private_key"])
        // The one before stays readable by its serial, for a descriptor opened on it.
        #expect(
            fields(try await store.read(Self.folder, version: first.version))["private_key"] == files["private_key"])
        let versions = try await store.versions(of: Self.folder)
        #expect(versions.map(\.id) == [first.version, second.version])
        #expect(versions.last?.labels.contains(VersionInfo.current) == true)

        let statuses = await store.certificates?.statuses() ?? []
        #expect(statuses.count == 1 && statuses.first?.issued.map(\.serial) == [first.version, second.version])
        let expiry = statuses.first?.issued.last?.expiresAt.timeIntervalSinceNow ?? 0
        #expect(expiry > 3000 && expiry <= 3600)
        await #expect {
            _ = try await store.write(Self.folder, content: .value(SecretValue(string: "x")))
        } throws: { ($0 as? SecretError)?.code == .unsupported }
        await store.shutdown()
        // No key in any log line.
        capture.expectNone(of: [files["private_key"] ?? "", fields(second)["private_key"] ?? "", "PRIVATE KEY"])
        #expect(capture.all.contains { $0.contains("certificate issued") && $0.contains(first.version) })
    }

    @Test func aRoleThatDoesNotExistIsOneLogLineAndEIOForEveryRead() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("pki-bad")
        try await api.enablePKI(mount)
        let capture = LogCapture()
        let store = try await connect(api, mount: "secret", capture: capture) {
            $0.certificates = [try! request(mount, role: "nope")]
        }
        for _ in 0..<3 {
            let error = await expectSecretError(.configuration) { try await store.read(Self.folder) }
            #expect(error?.message.contains("issue") == true)
        }
        // A retry that fails the same way is quiet.
        await #expect(throws: SecretError.self) {
            _ = try await store.rotate(RotationRequest(path: Self.folder) { SecretValue(bytes: [UInt8]()) })
        }
        #expect(capture.all.filter { $0.contains("certificate not issued") }.count == 1)
        let status = await store.certificates?.statuses().first
        #expect(status?.issued.isEmpty == true && status?.problem != nil)
        // The KV side is untouched: the root lists, and the folder is still shown.
        #expect(try await store.list(try SecretPath("tls")).secrets == ["web"])
        await store.shutdown()
    }

    @Test func renewedAtItsFractionOfTheLifetimeOnTheInjectedClock() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("pki-renew")
        try await api.enablePKI(mount)
        // The wall clock starts at the real time: Vault's expiry is real.
        let clock = ManualTimeSource(wall: Date())
        let store = try await connect(api, mount: "secret", capture: LogCapture(), clock: clock) {
            $0.certificates = [try! request(mount, ttl: .seconds(3600), fraction: 0.5)]
        }
        let certificates = try #require(store.certificates)
        let reissues = Counter()
        let renewal = VaultCertificateRenewal(certificates: certificates, clock: clock, random: { 0.5 }) { path in
            reissues.add()
            _ = try await store.rotate(RotationRequest(path: path) { SecretValue(bytes: [UInt8]()) })
        }
        let running = Task { await renewal.run() }
        func serials() async -> [String] { await certificates.statuses().first?.issued.map(\.serial) ?? [] }
        // Issued at start, then waiting for the renewal.
        #expect(await waitUntil(seconds: 30) { await serials().count == 1 && clock.sleeperCount == 1 })
        let first = await serials()
        clock.advance(by: .seconds(1700))
        try await Task.sleep(for: .milliseconds(200))
        #expect(await serials() == first, "re-issued before half of its lifetime")
        clock.advance(by: .seconds(200))
        #expect(await waitUntil(seconds: 30) { await serials().count == 2 })
        #expect(await waitUntil(seconds: 30) { clock.sleeperCount == 1 })
        #expect(reissues.value == 2)
        running.cancel()
        await running.value
        await store.shutdown()
    }

    @Test func aFailedIssueIsRetriedAfterTheRetryDelay() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("pki-retry")
        try await api.enablePKI(mount)
        let clock = ManualTimeSource(wall: Date())
        let store = try await connect(api, mount: "secret", capture: LogCapture(), clock: clock) {
            $0.certificates = [try! request(mount, role: "later")]
        }
        let certificates = try #require(store.certificates)
        let attempts = Counter()
        let renewal = VaultCertificateRenewal(certificates: certificates, clock: clock, retryDelay: .seconds(30)) {
            path in
            attempts.add()
            _ = try await store.rotate(RotationRequest(path: path) { SecretValue(bytes: [UInt8]()) })
        }
        let running = Task { await renewal.run() }
        #expect(await waitUntil(seconds: 30) { attempts.value == 1 && clock.sleeperCount == 1 })
        await expectSecretError(.configuration) { try await store.read(Self.folder) }
        // The role appears; the next try, after the retry delay, issues.
        try await api.must(
            "POST", "\(mount)/roles/later",
            ["allowed_domains": ["example.test", "localhost"], "allow_subdomains": true])
        clock.advance(by: .seconds(31))
        #expect(await waitUntil(seconds: 30) { await certificates.statuses().first?.issued.count == 1 })
        #expect(attempts.value == 2)
        #expect(try await store.read(Self.folder).version == certificates.statuses().first?.issued.first?.serial)
        running.cancel()
        await running.value
        await store.shutdown()
    }

    /// The KV store keeps every promise of the conformance suite with a certificate folder beside it.
    @Test func conformanceWithACertificateBesideTheSecrets() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("pki-conf")
        let kv = TestEnvironment.unique("kv-pki")
        try await api.enablePKI(mount)
        try await api.enableKV2(kv)
        let plain = "plain-\(UUID().uuidString)"
        let password = "password-\(UUID().uuidString)"
        _ = try await api.put(kv, "plain", ["value": plain])
        _ = try await api.put(kv, "tls/other", ["value": plain])
        _ = try await api.put(kv, "db", ["username": "app", "password": password])
        let capture = LogCapture()
        let store = try await connect(api, mount: kv, capture: capture) { $0.certificates = [try! request(mount)] }
        await StoreConformance.run(
            ConformanceFixture(
                store: store,
                seeded: [try SecretPath("plain"): Array(plain.utf8), try SecretPath("tls/other"): Array(plain.utf8)],
                fieldSecret: (
                    try SecretPath("db"), ["username": Array("app".utf8), "password": Array(password.utf8)]
                ),
                scratch: try SecretPath("scratch")))
        #expect(try await store.list(try SecretPath("tls")).secrets == ["other", "web"])
        let key = fields(try await store.read(Self.folder))["private_key"] ?? ""
        await store.shutdown()
        capture.expectNone(of: [plain, password, api.token, key])
    }

    @Test func requestsCheckTheirRole() throws {
        #expect(throws: SecretError.self) {
            try VaultCertificateRequest(path: Self.folder, role: "pki/web", commonName: "a")
        }
        #expect(throws: SecretError.self) {
            try VaultCertificateRequest(path: Self.folder, role: "pki/issue/", commonName: "a")
        }
        #expect(throws: SecretError.self) {
            try VaultCertificateRequest(path: Self.folder, role: "pki/issue/web", commonName: "a", renewFraction: 1)
        }
        let nested = try VaultCertificateRequest(path: Self.folder, role: "team/pki/issue/web", commonName: "a")
        #expect(nested.mount == ["team", "pki"] && nested.role == "web")
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
