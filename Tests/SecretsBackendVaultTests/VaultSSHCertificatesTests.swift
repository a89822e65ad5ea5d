// SSH certificates (`leases:` entries with `sign:`) against a real OpenBao SSH engine enabled here through
// the API: what the folder shows, that a re-sign keeps the key, a configured public key, and a role that
// refuses. The certificate is read back with the store's own reader and checked against what was asked.
import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendVault

extension VaultAPI {
    /// An SSH engine at `mount` with a generated CA key and a role `deploy` for user certificates.
    func enableSSH(_ mount: String) async throws {
        try await must("POST", "sys/mounts/\(mount)", ["type": "ssh"])
        try await must("POST", "\(mount)/config/ca", ["generate_signing_key": true])
        try await must(
            "POST", "\(mount)/roles/deploy",
            [
                "key_type": "ca", "allow_user_certificates": true, "allowed_users": "deploy,ops",
                "default_user": "deploy", "ttl": "30m", "max_ttl": "1h",
            ])
    }
}

@Suite("SSH certificates against OpenBao", .needs(.openBao))
struct VaultSSHCertificatesTests {
    static let folder = try! SecretPath("ssh/deploy")

    func fields(_ secret: Secret) -> [String: String] {
        guard case .fields(let fields) = secret.content else { return [:] }
        return fields.compactMapValues { $0.utf8String() }
    }

    @Test func aMadeKeyIsSignedAndKeptAcrossARotation() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("ssh")
        try await api.enableSSH(mount)
        let capture = LogCapture()
        let store = try await connect(api, mount: "secret", capture: capture) {
            $0.leases = [
                try! VaultLeaseRequest(
                    path: Self.folder, sign: "\(mount)/sign/deploy",
                    ssh: SSHSigning(principals: ["ops"], ttl: .seconds(600)))
            ]
        }
        #expect(try await store.list(try SecretPath("ssh")).secrets == ["deploy"])
        let started = Date()
        let first = try await store.read(Self.folder)
        let files = fields(first)
        #expect(Set(files.keys) == ["id", "id.pub", "id-cert.pub"])
        #expect(files["id"]?.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----\n") == true)
        #expect(files["id.pub"]?.hasPrefix("ssh-ed25519 ") == true)
        let certificate = try #require(SSHCertificate(line: files["id-cert.pub"] ?? ""))
        // The entry's ttl, not the role's 30 minutes.
        let left = try #require(certificate.expiresAt).timeIntervalSince(started)
        #expect(left > 590 && left <= 601)
        let status = try #require(await store.leases?.statuses().first)
        #expect(status.kind == .sshCertificate && status.made == 1 && status.expiresAt == certificate.expiresAt)

        let rotated = try await store.rotate(RotationRequest(path: Self.folder) { SecretValue(bytes: [UInt8]()) })
        #expect(rotated.oldVersion == first.version && rotated.newVersion != first.version)
        let again = fields(try await store.read(Self.folder))
        #expect(again["id"] == files["id"] && again["id.pub"] == files["id.pub"])
        #expect(again["id-cert.pub"] != files["id-cert.pub"])
        #expect(await store.leases?.statuses().first?.made == 2)
        let body = (files["id"] ?? "").split(separator: "\n").dropFirst().dropLast().map(String.init)
        capture.expectNone(of: body)
        await store.shutdown()
    }

    /// The lease machinery's schedule: a certificate cannot be renewed, so it is signed again (same key)
    /// at 2/3 of its validity, on a clock the test moves.
    @Test func signedAgainAtTwoThirdsOfItsValidityOnTheInjectedClock() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("ssh")
        try await api.enableSSH(mount)
        // The wall clock starts at the real time: the certificate's valid-before is real.
        let clock = ManualTimeSource(wall: Date())
        let store = try await connect(api, mount: "secret", capture: LogCapture(), clock: clock) {
            $0.leases = [
                try! VaultLeaseRequest(
                    path: Self.folder, sign: "\(mount)/sign/deploy", ssh: SSHSigning(ttl: .seconds(600)),
                    prefetch: true)
            ]
        }
        let leases = try #require(store.leases)
        let renewal = LeasesRenewal(
            leases: leases, clock: clock,
            replace: { path in
                _ = try await store.rotate(RotationRequest(path: path) { SecretValue(bytes: [UInt8]()) })
            },
            expire: { _ in })
        let running = Task { await renewal.run() }
        func made() async -> Int { await leases.statuses().first?.made ?? 0 }
        #expect(await waitUntil(seconds: 30) { await made() == 1 && clock.sleeperCount == 1 })
        let first = fields(try await store.read(Self.folder))
        clock.advance(by: .seconds(390))
        try await Task.sleep(for: .milliseconds(200))
        #expect(await made() == 1, "signed again before 2/3 of its validity")
        clock.advance(by: .seconds(20))
        #expect(await waitUntil(seconds: 30) { await made() == 2 })
        let second = fields(try await store.read(Self.folder))
        #expect(second["id"] == first["id"] && second["id-cert.pub"] != first["id-cert.pub"])
        running.cancel()
        await running.value
        await store.shutdown()
    }

    @Test func aConfiguredPublicKeyIsSignedAndNoPrivateKeyShown() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("ssh")
        try await api.enableSSH(mount)
        let key = try OpenSSHKey(seed: SecretValue(bytes: [UInt8](repeating: 9, count: 32)))
        let line = key.publicLine(comment: "x").split(separator: " ").prefix(2).joined(separator: " ")
        let store = try await connect(api, mount: "secret", capture: LogCapture()) {
            $0.leases = [
                try! VaultLeaseRequest(
                    path: Self.folder, sign: "\(mount)/sign/deploy", ssh: SSHSigning(publicKey: line))
            ]
        }
        let files = fields(try await store.read(Self.folder))
        #expect(Set(files.keys) == ["id.pub", "id-cert.pub"])
        #expect(files["id.pub"] == line + "\n")
        #expect(files["id-cert.pub"]?.hasPrefix("ssh-ed25519-cert-v01@openssh.com ") == true)
        await store.shutdown()
    }

    @Test func aPrincipalTheRoleRefusesIsEIOWithVaultsReason() async throws {
        let api = try TestEnvironment.plain()
        let mount = TestEnvironment.unique("ssh")
        try await api.enableSSH(mount)
        let capture = LogCapture()
        let store = try await connect(api, mount: "secret", capture: capture) {
            $0.leases = [
                try! VaultLeaseRequest(
                    path: Self.folder, sign: "\(mount)/sign/deploy", ssh: SSHSigning(principals: ["root"]))
            ]
        }
        await #expect {
            _ = try await store.read(Self.folder)
        } throws: { error in
            guard let error = error as? SecretError else { return false }
            return error.code == .configuration && error.message.contains("root")
        }
        #expect(capture.all.filter { $0.contains("credential not made") }.count == 1)
        await store.shutdown()
    }
}
