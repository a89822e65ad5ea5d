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
        #expect(!leases[0].request.prefetch && leases[0].request.revoke && leases[0].ownership == nil)
        #expect(leases[1].request.prefetch && !leases[1].request.revoke)
        #expect(leases[1].ownership == PermissionRules.Rule(paths: ["db/report/*"], mode: 0o440, gid: 70))
    }

    @Test func mistakesAreOneLineNamingTheEntry() throws {
        let cases: [(String, String)] = [
            ("leases: db/app", "'leases' must be a list"),
            ("leases:\n  - path: a\n    read: d/creds/a\n    colour: blue", "unknown key 'colour'"),
            ("leases:\n  - path: a", "needs a 'read'"),
            ("leases:\n  - read: d/creds/a", "needs a 'path'"),
            ("leases:\n  - path: a\n    read: app", "engine path"),
            ("leases:\n  - path: a\n    read: d/creds/a\n    prefetch: soon", "true or false"),
            ("leases:\n  - path: a\n    sign: ssh/sign/deploy", "not supported yet"),
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
