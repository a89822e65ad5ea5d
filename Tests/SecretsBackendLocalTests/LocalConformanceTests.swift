import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendLocal

@Suite struct LocalConformanceTests {
    @Test func passesTheStoreConformanceSuite() async throws {
        try await withTemporaryStore { store, _ in
            let seeded: [SecretPath: [UInt8]] = [
                try SecretPath("openai/api_key"): Array("sk-local-conformance-0001".utf8),
                try SecretPath("team/backend/db/url"): Array("postgres://conformance".utf8),
                try SecretPath("binary"): [0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28],
                try SecretPath("top"): Array("top-level-value".utf8),
            ]
            for (path, bytes) in seeded {
                _ = try await store.write(path, content: .value(SecretValue(bytes: bytes)))
            }
            let fieldPath = try SecretPath("db/primary")
            let fields: [String: [UInt8]] = [
                "username": Array("app-user".utf8), "password": [0x00, 0x01, 0xff, 0x7f], "value": Array("v".utf8),
            ]
            _ = try await store.write(fieldPath, content: .fields(fields.mapValues { SecretValue(bytes: $0) }))

            await StoreConformance.run(
                ConformanceFixture(
                    store: store, seeded: seeded, fieldSecret: (fieldPath, fields),
                    scratch: try SecretPath("scratch/area")))
        }
    }
}
