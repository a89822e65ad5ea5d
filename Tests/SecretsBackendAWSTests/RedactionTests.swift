import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

/// Whatever happens, no value and no key reaches a log line or an error message.
@Suite(.needs(.moto)) struct AWSRedactionTests {
    @Test func noValueOrKeyInLogsOrErrors() async throws {
        let capture = LogCapture()
        let store = try await makeStore(prefix: uniquePrefix("redact"), expand: true, logger: capture.logger())
        defer { Task { await store.shutdown() } }
        let planted = ["planted-value-0a1b2c", "planted-field-3d4e5f", "planted-json-6a7b8c"]

        _ = try await store.write(path("plain"), content: .value(SecretValue(string: planted[0])))
        _ = try await store.write(
            path("multi"),
            content: .fields(["user": SecretValue(string: planted[1]), "pw": SecretValue(string: planted[2])]))
        var descriptions: [String] = []
        _ = try await store.read(path("plain"))
        _ = try await store.read(path("multi"))
        _ = try await store.versions(of: path("plain"))
        _ = try await store.list(.root)
        _ = try await store.rotate(RotationRequest(path: path("multi"), field: "pw") { SecretValue(string: "x") })
        for failing in [
            { _ = try await store.read(path("absent")) },
            { _ = try await store.read(path("plain"), version: UUID().uuidString) },
            { _ = try await store.rotate(RotationRequest(path: path("multi")) { SecretValue(string: "x") }) },
            { _ = try await store.write(path("multi"), content: .fields(["bin": SecretValue(bytes: [0xff])])) },
        ] as [() async throws -> Void] {
            do {
                try await failing()
                Issue.record("expected a failure")
            } catch {
                descriptions.append("\(error)")
                descriptions.append(String(reflecting: error))
            }
        }
        let secret = try await store.read(path("plain"))
        descriptions.append("\(secret)")
        descriptions.append(await store.health().detail)
        descriptions.append(store.descriptor.address)

        let everything = descriptions + capture.all
        #expect(!everything.isEmpty)
        for text in everything {
            for forbidden in planted + [plantedSecretKey] {
                // A Bool, so a failure report does not print the text it would be about.
                let leaked = text.contains(forbidden)
                #expect(!leaked, "a planted value or the secret key reached a log line or an error")
            }
        }
    }
}
