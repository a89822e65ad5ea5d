import Foundation
import SecretsBackendVault
import SecretsCore
import Testing

@testable import SecretsCLI

@Suite struct ConfigCertificatesTests {
    @Test func certificatesAreReadWithTheirDefaults() throws {
        let file = try temporaryFile(
            """
            certificates:
              - path: tls/web
                role: pki_int/issue/web
                common_name: web.internal
                alt_names: [web, localhost]
                ip_sans: 10.0.0.5
                ttl: 24h
              - path: tls/api
                role: team/pki/issue/api
                common_name: api.internal
                renew_fraction: 1/2
                renew_spread: 0
            """)
        let requests = try ConfigFile.load(file).certificates()
        #expect(requests.map(\.path.string) == ["tls/web", "tls/api"])
        #expect(requests[0].mount == ["pki_int"] && requests[0].role == "web")
        #expect(requests[0].altNames == ["web", "localhost"] && requests[0].ipSANs == ["10.0.0.5"])
        #expect(requests[0].ttl == .seconds(86400))
        #expect(requests[0].renewFraction == 2.0 / 3.0 && requests[0].renewSpread == 0.1)
        #expect(requests[1].mount == ["team", "pki"] && requests[1].ttl == nil)
        #expect(requests[1].renewFraction == 0.5 && requests[1].renewSpread == 0)
    }

    @Test func mistakesAreOneLineNamingTheEntry() throws {
        let cases: [(String, String)] = [
            ("certificates: tls/web", "'certificates' must be a list"),
            (
                "certificates:\n  - path: a\n    role: pki/issue/r\n    common_name: c\n    colour: blue",
                "unknown key 'colour'"
            ),
            ("certificates:\n  - path: a\n    role: pki/r\n    common_name: c", "mount/issue/role"),
            ("certificates:\n  - path: a\n    common_name: c", "needs a 'role'"),
            ("certificates:\n  - path: a\n    role: pki/issue/r", "needs a 'common_name'"),
            ("certificates:\n  - path: a\n    role: pki/issue/r\n    common_name: c\n    ttl: soon", "'ttl'"),
            (
                "certificates:\n  - path: a\n    role: pki/issue/r\n    common_name: c\n    renew_fraction: 2",
                "between 0 and 1"
            ),
            (
                "certificates:\n  - path: a\n    role: pki/issue/r\n    common_name: c\n"
                    + "  - path: a/b\n    role: pki/issue/r\n    common_name: c",
                "overlap"
            ),
        ]
        for (text, expected) in cases {
            let file = try temporaryFile(text)
            do {
                _ = try ConfigFile.load(file).checkStructuredKeys()
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.code == .configuration && error.message.contains(expected), "\(error.message)")
                #expect(error.message.contains(file))
            }
        }
    }

    @Test func aRenderedFileInACertificateFolderIsRefused() throws {
        let file = try temporaryFile(
            """
            certificates:
              - path: tls/web
                role: pki/issue/web
                common_name: web.internal
            files:
              - path: tls/web/extra
                template: x
            """)
        #expect(throws: SecretError.self) { try ConfigFile.load(file).checkStructuredKeys() }
    }

    @Test func onlyVaultIssuesCertificates() throws {
        var factory = StoreFactory(
            options: try BackendOptions.parse([]), environment: [:], logger: .init(label: "test"))
        factory.certificates = [
            try VaultCertificateRequest(path: SecretPath("a"), role: "pki/issue/r", commonName: "c")
        ]
        #expect { try factory.checkedBackendKind() } throws: {
            ($0 as? SecretError)?.message.contains("needs --backend vault") == true
        }
    }
}
