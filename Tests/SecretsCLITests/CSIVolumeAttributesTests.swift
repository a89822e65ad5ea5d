import Foundation
import SecretsCSI
import Testing

@testable import SecretsCLI

/// DESIGN §12: a CSI volume's attributes become mount options only when a pod may set them; every
/// refusal names the key and never the value.
@Suite struct CSIVolumeAttributesTests {
    static let planted = "hunter2-PLANTED"

    func refusal(_ context: [String: String], configFolder: String? = nil) -> CSIError? {
        do {
            _ = try CSIVolumeAttributes(context, configFolder: configFolder)
            return nil
        } catch {
            return error
        }
    }

    @Test func optionsBecomeFlagsWithTheirValuesAttached() throws {
        let attributes = try CSIVolumeAttributes(
            [
                "backend": "vault", "vault-prefix": "-team-a", "show-versions": "true", "direct-io": "false",
                "csi.storage.k8s.io/pod.name": "app", "csi.storage.k8s.io/pod.namespace": "ns",
                "csi.storage.k8s.io/serviceAccount.name": "reader", "csi.storage.k8s.io/ephemeral": "true",
            ], configFolder: nil)
        // `--name=value`: a value that starts with a dash is never read as a flag.
        #expect(attributes.arguments == ["--backend=vault", "--show-versions", "--vault-prefix=-team-a"])
        #expect(attributes.owner == "ns/app serviceaccount=reader")
    }

    @Test func whatAPodMayNotSetIsRefusedByKey() throws {
        for key in [
            "store", "store-key-file", "vault-addr", "vault-token-file", "vault-jwt-file", "vault-secret-id-file",
            "vault-cacert", "vault-skip-verify", "aws-endpoint", "aws-profile", "cache-file", "cache-key-file",
            "audit-log", "audit-owner", "log-file", "daemon", "o", "nonempty", "colour",
        ] {
            let error = try #require(refusal([key: Self.planted]), "\(key) was accepted")
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(key) && !error.message.contains(Self.planted))
        }
        let env = try #require(refusal(["backend": "env"]))
        #expect(env.message.contains("backend"))
        let flag = try #require(refusal(["show-versions": Self.planted]))
        #expect(!flag.message.contains(Self.planted))
        let odd = try #require(refusal(["\(Self.planted)\n": "x"]))
        #expect(!odd.message.contains(Self.planted))
    }

    @Test func configNamesABareFileOfTheFolderThatPinsItsKeys() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("csi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "backend: vault\nvault-prefix: team-a\n".write(
            toFile: folder + "/v.yaml", atomically: true, encoding: .utf8)

        let attributes = try CSIVolumeAttributes(["config": "v.yaml", "cache-ttl": "5m"], configFolder: folder)
        #expect(attributes.arguments == ["--config=\(folder)/v.yaml", "--cache-ttl=5m"])
        for name in ["../v.yaml", "/etc/passwd", ".hidden", "missing.yaml", ""] {
            #expect(refusal(["config": name], configFolder: folder)?.code == .invalidArgument, "\(name)")
        }
        #expect(refusal(["config": "v.yaml"], configFolder: nil) != nil)
        let widened = try #require(refusal(["config": "v.yaml", "vault-prefix": "team-b"], configFolder: folder))
        #expect(widened.message.contains("vault-prefix") && !widened.message.contains("team-b"))
    }

    @Test func theTokenIsTakenForTheAudienceAndNeverQuoted() throws {
        let key = CSIVolumeAttributes.tokensKey
        let tokens = #"{"secretsfs":{"token":"\#(Self.planted)","expirationTimestamp":"2030-01-01T00:00:00Z"}}"#
        #expect(try CSINodeVolumes.token(in: [key: tokens], audience: "secretsfs") == Self.planted)
        for context in [
            [:], [key: "not json \(Self.planted)"], [key: tokens.replacingOccurrences(of: "secretsfs", with: "other")],
        ] {
            do {
                _ = try CSINodeVolumes.token(in: context, audience: "secretsfs")
                Issue.record("a token was found where there is none")
            } catch {
                #expect(error.code == .invalidArgument && !error.message.contains(Self.planted))
            }
        }
    }
}
