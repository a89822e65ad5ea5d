import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendEnv

@Suite struct EnvConformanceTests {
    @Test func passesTheStoreConformanceSuite() async throws {
        let environment = [
            "APP_ALPHA": "alpha-conformance-value",
            "APP_TEAM_TOKEN": "team-token-conformance",
            "APP_OPENAI_API_KEY": "sk-env-conformance",
            "PATH": "/usr/bin:/bin",
            "SECRET_LEAK": "must-never-appear",
        ]
        let store = EnvSecretStore(environment: environment, prefix: "APP_", includeGlobs: [])
        let seeded: [SecretPath: [UInt8]] = [
            try SecretPath("alpha"): Array("alpha-conformance-value".utf8),
            try SecretPath("team/token"): Array("team-token-conformance".utf8),
            try SecretPath("openai/api_key"): Array("sk-env-conformance".utf8),
        ]
        await StoreConformance.run(
            ConformanceFixture(store: store, seeded: seeded, fieldSecret: nil, scratch: try SecretPath("scratch")))
    }
}
