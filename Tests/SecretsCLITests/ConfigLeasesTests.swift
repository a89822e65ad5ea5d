import Foundation
import SecretsBackendVault
import SecretsCore
import SecretsFileSystem
import Testing

@testable import SecretsCLI

@Suite struct ConfigLeasesTests {
    @Test func leasesAreReadWithTheirDefaultsAndOwnership() throws {
        let file = try temporaryFile(
            """
            leases:
              - path: db/app
                read: database/creds/app
              - path: db/report
                read: team/database/creds/report
                prefetch: true
                revoke: false
                mode: 0440
                gid: 70
            """)
        let leases = try ConfigFile.load(file).leases()
        #expect(leases.map(\.request.path.string) == ["db/app", "db/report"])
        #expect(leases[0].request.read == ["database", "creds", "app"])
        #expect(!leases[0].request.prefetch && leases[0].request.revoke && leases[0].ownership.isEmpty)
        #expect(leases[1].request.prefetch && !leases[1].request.revoke)
        #expect(leases[1].ownership == [PermissionRules.Rule(paths: ["db/report/*"], mode: 0o440, gid: 70)])
    }

    @Test func sshCertificatesAreReadWithTheirKeyFileAndAPrivateKeyOnlyTheOwnerReads() throws {
        let key = try temporaryFile(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF9pIaF/cPFhfP/BYYIwbPglJpXL+ng1QrwJO6X21q1 me@host\n")
        let file = try temporaryFile(
            """
            leases:
              - path: ssh/deploy
                sign: ssh/sign/deploy
                principals: [deploy, ops]
                ttl: 30m
                uid: 1000
              - path: ssh/mine
                sign: team/ssh/sign/mine
                public_key: \(key)
                prefetch: true
            """)
        let leases = try ConfigFile.load(file).leases()
        #expect(leases[0].request.read == ["ssh", "sign", "deploy"] && !leases[0].request.revoke)
        #expect(leases[0].request.sign == SSHSigning(principals: ["deploy", "ops"], ttl: .seconds(1800)))
        #expect(
            leases[0].ownership == [
                PermissionRules.Rule(paths: ["ssh/deploy/id"], mode: 0o600, uid: 1000),
                PermissionRules.Rule(paths: ["ssh/deploy/*"], uid: 1000),
            ])
        #expect(
            leases[1].request.sign?.publicKey
                == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF9pIaF/cPFhfP/BYYIwbPglJpXL+ng1QrwJO6X21q1")
        #expect(leases[1].request.prefetch && leases[1].ownership.isEmpty)
    }

    @Test func mistakesAreOneLineNamingTheEntry() throws {
        let cases: [(String, String)] = [
            ("leases: db/app", "'leases' must be a list"),
            ("leases:\n  - path: a\n    read: d/creds/a\n    colour: blue", "unknown key 'colour'"),
            ("leases:\n  - path: a", "needs a 'read'"),
            ("leases:\n  - read: d/creds/a", "needs a 'path'"),
            ("leases:\n  - path: a\n    read: app", "engine path"),
            ("leases:\n  - path: a\n    read: d/creds/a\n    prefetch: soon", "true or false"),
            ("leases:\n  - path: a\n    sign: ssh/sign/deploy\n    read: d/creds/a", "not both"),
            ("leases:\n  - path: a\n    sign: ssh/sign/deploy\n    revoke: true", "'revoke' does not apply"),
            ("leases:\n  - path: a\n    read: d/creds/a\n    principals: [x]", "SSH certificates"),
            ("leases:\n  - path: a\n    sign: ssh/sign/deploy\n    principals: [\"a,b\"]", "list of user names"),
            ("leases:\n  - path: a\n    sign: ssh/sign/deploy\n    public_key: /nonexistent/k.pub", "public_key"),
            ("leases:\n  - path: a\n    sign: ssh\n", "engine path"),
            ("leases:\n  - path: a\n    sign: ssh/sign/d\n    ttl: soon", "'ttl' must be a duration"),
            ("leases:\n  - path: a\n    read: d/creds/a\n  - path: a/b\n    read: d/creds/b", "overlap"),
            (
                "leases:\n  - path: a\n    read: d/creds/a\nfiles:\n  - path: a/x\n    template: x",
                "overlap"
            ),
        ]
        for (text, expected) in cases {
            let file = try temporaryFile(text)
            do {
                _ = try ConfigFile.load(file).checkStructuredKeys()
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message.contains(expected), "\(text): \(error.message)")
                #expect(!error.message.contains("\n"))
            }
        }
    }
}
