import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

/// Faults moto really produces: answers that are not what the protocol promises, and a 500.
@Suite(.needs(.moto)) struct AWSFaultTests {
    @Test func answersThatAreNotTheProtocolAreMalformed() async throws {
        let capture = LogCapture()
        let moto = try motoEndpoint()
        // moto's dashboard answers any POST with an HTML page, status 200.
        let html = try await makeStore(endpoint: moto + "/moto-api", prefix: nil, logger: capture.logger())
        defer { Task { await html.shutdown() } }
        let error = await expectError(.malformedResponse) { _ = try await html.read(path("anything")) }
        #expect(error?.path == path("anything"))
        await expectError(.malformedResponse) { _ = try await html.list(.root) }

        let logged = capture.all.filter { $0.contains("not the expected JSON") }
        #expect(!logged.isEmpty, "a malformed answer is logged")
        for line in capture.all + [error?.description ?? ""] {
            let quotesBody = line.contains("<html") || line.contains("DOCTYPE") || line.contains("test-secret-key")
            #expect(!quotesBody, "logs and errors never quote the answer")
        }
    }

    @Test func containerCredentialsThatAreNotJSONAreMalformed() async throws {
        let environment = AWSCredentialChainTests.keylessEnvironment([
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": try motoEndpoint() + "/moto-api/"
        ])
        await expectError(.malformedResponse) { _ = try await makeStore(prefix: nil, environment: environment) }
    }

    /// moto answers ListSecretVersionIds on a missing secret with a 500: a real server error, retried
    /// with backoff and then reported as unavailable within the deadline.
    @Test func serverErrorsAreRetriedThenUnavailable() async throws {
        let capture = LogCapture()
        let store = try await makeStore(
            prefix: uniquePrefix("fivehundred"), timeout: .seconds(20), logger: capture.logger())
        defer { Task { await store.shutdown() } }
        let clock = ContinuousClock()
        let start = clock.now
        await expectError(.unavailable) {
            let _: SM.ListVersionsAnswer = try await store.client.call(
                "ListSecretVersionIds",
                SM.ListVersions(SecretId: "no-such-secret-\(UUID())", MaxResults: 10, IncludeDeprecated: false))
        }
        #expect(clock.now - start < .seconds(45), "gave up at the 20 s deadline, not after a hang")
        let retries = capture.all.filter { $0.contains("retrying") }
        #expect(retries.count >= 2, "a 500 is retried with backoff")
        // The store's own versions() asks DescribeSecret first, so the same missing secret is notFound.
        await expectError(.notFound) { _ = try await store.versions(of: path("no-such-secret")) }
    }
}
