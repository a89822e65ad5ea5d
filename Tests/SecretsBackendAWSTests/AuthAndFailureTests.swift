import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

/// Tests that need a moto of their own: signature checking switched on would break every other
/// test on the shared server, and a killed server must be one nobody else uses.
@Suite(.needs(.moto)) struct AWSAuthAndFailureTests {
    /// Creates an IAM user with an access key through moto's IAM API (boto3, a real client), then
    /// switches signature checking on. Returns the key id and secret key.
    static func enableAuth(on moto: OwnMoto) async throws -> (String, String) {
        let script = """
            import boto3, json, sys
            iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                               aws_access_key_id="seed", aws_secret_access_key="seed")
            iam.create_user(UserName="secretsfs-reader")
            iam.put_user_policy(UserName="secretsfs-reader", PolicyName="all", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="secretsfs-reader")["AccessKey"]
            print(key["AccessKeyId"], key["SecretAccessKey"])
            """
        let run = try await ProgramRun.run("/usr/bin/env", ["python3", "-c", script, moto.endpoint])
        let (status, output) = (run.status, run.output)
        let parts = output.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard status == 0, parts.count == 2 else { throw TestSetupError(description: "IAM seeding failed (\(status))") }
        let reset = try await moto.curl([
            "-fsS", "-o", "/dev/null", "-X", "POST", "-H", "Content-Type: text/plain", "--data", "0",
            "\(moto.endpoint)/moto-api/reset-auth",
        ])
        guard reset == 0 else { throw TestSetupError(description: "moto reset-auth failed") }
        return (parts[0], parts[1])
    }

    @Test func signatureCheckingAcceptsTheRightKeyAndDeniesAWrongOne() async throws {
        let moto = try await OwnMoto.start()
        defer { moto.stop() }
        let (keyID, secretKey) = try await Self.enableAuth(on: moto)
        let capture = LogCapture()

        let good = try await makeStore(
            endpoint: moto.endpoint, prefix: "auth",
            environment: baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secretKey]),
            logger: capture.logger())
        let planted = "auth-planted-value-ee55"
        _ = try await good.write(path("token"), content: .value(SecretValue(string: planted)))
        #expect(value(try await good.read(path("token"))) == Array(planted.utf8))
        #expect(try await good.list(.root).secrets == ["token"])
        await good.shutdown()

        let wrongSecret = "wrong-\(plantedSecretKey)"
        let bad = try await makeStore(
            endpoint: moto.endpoint, prefix: "auth",
            environment: baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": wrongSecret]),
            logger: capture.logger())
        var errors: [SecretError] = []
        if let error = await expectError(.permissionDenied, { _ = try await bad.read(path("token")) }) {
            errors.append(error)
        }
        if let error = await expectError(.permissionDenied, { _ = try await bad.list(.root) }) { errors.append(error) }
        let health = await bad.health()
        #expect(!health.healthy)
        await bad.shutdown()

        let texts = errors.map(\.description) + capture.all + [health.detail]
        for text in texts {
            for forbidden in [secretKey, wrongSecret, planted] {
                let leaked = text.contains(forbidden)
                #expect(!leaked, "no key or value in errors or logs")
            }
        }
    }

    @Test func aKilledServerIsUnavailableWithinTheDeadline() async throws {
        let moto = try await OwnMoto.start()
        // The write before the kill gets the room of a loaded machine; the reads after it the short deadline.
        let writer = try await makeStore(endpoint: moto.endpoint, prefix: "killed")
        _ = try await writer.write(path("s"), content: .value(SecretValue(string: "before-the-kill")))
        await writer.shutdown()
        let store = try await makeStore(endpoint: moto.endpoint, prefix: "killed", timeout: .seconds(2))
        defer { Task { await store.shutdown() } }
        moto.stop()

        let clock = ContinuousClock()
        let start = clock.now
        await expectError(.unavailable) { _ = try await store.read(path("s")) }
        let elapsed = clock.now - start
        // Near the 2 s deadline, not after a hang; the margin is for a CI machine running every test at once.
        #expect(elapsed < .seconds(10), "gave up at the 2 s deadline (took \(elapsed))")
        await expectError(.unavailable) { _ = try await store.list(.root) }
        #expect(await store.health().healthy == false)
    }

    @Test func nothingListeningIsUnavailable() async throws {
        let port = try freePort()
        let store = try await makeStore(endpoint: "http://127.0.0.1:\(port)", prefix: nil, timeout: .seconds(1))
        defer { Task { await store.shutdown() } }
        let clock = ContinuousClock()
        let start = clock.now
        let error = await expectError(.unavailable) { _ = try await store.read(path("anything")) }
        #expect(clock.now - start < .seconds(30), "gave up at the 1 s deadline, not after a hang")
        #expect(error?.path == path("anything"))
    }
}
