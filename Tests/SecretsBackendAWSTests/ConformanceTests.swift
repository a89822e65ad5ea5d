import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

@Suite(.needs(.moto)) struct AWSConformanceTests {
    @Test func passesTheStoreConformanceSuite() async throws {
        let store = try await makeStore(prefix: uniquePrefix("conformance"), expand: true)
        let seeded: [SecretPath: [UInt8]] = [
            path("alpha"): Array("conformance-alpha-value-7f3a".utf8),
            path("a/b/c"): Array("conformance-nested-value-91bd".utf8),
            path("binary"): [0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3],
        ]
        for (secretPath, bytes) in seeded {
            _ = try await store.write(secretPath, content: .value(SecretValue(bytes: bytes)))
        }
        let fields: [String: [UInt8]] = [
            "username": Array("admin".utf8), "password": Array("conformance-pw-55e1".utf8),
        ]
        _ = try await store.write(path("db"), content: .fields(fields.mapValues { SecretValue(bytes: $0) }))

        await StoreConformance.run(
            ConformanceFixture(
                store: store, seeded: seeded, fieldSecret: (path("db"), fields), scratch: path("scratch")))
        await store.shutdown()
    }
}
