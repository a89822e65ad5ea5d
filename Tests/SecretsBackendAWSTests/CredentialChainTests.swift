import Foundation
import Logging
import SecretStoreConformance
import SecretsCore
import ServiceLifecycle
import Testing

@testable import SecretsBackendAWS

/// Each credential source fetched for real: STS and instance metadata from moto, files from disk,
/// container credentials from python's http.server serving a JSON file.
@Suite(.needs(.moto)) struct AWSCredentialChainTests {
    /// The base environment without keys, so the chain goes past the environment provider.
    static func keylessEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = baseEnvironment(extra)
        environment["AWS_ACCESS_KEY_ID"] = nil
        environment["AWS_SECRET_ACCESS_KEY"] = nil
        return environment
    }

    @Test func environmentKeysComeFirst() async throws {
        let store = try await makeStore(prefix: uniquePrefix("env"))
        defer { Task { await store.shutdown() } }
        #expect(await store.credentialSource() == "environment")
        let key = try await store.client.credentials.current()
        #expect(key.signing.accessKeyID == plantedAccessKey)
        #expect(key.signing.sessionToken == nil)
    }

    @Test func webIdentityExchangesTheTokenAtSTS() async throws {
        try await withTemporaryDirectory { directory in
            let tokenFile = directory.appendingPathComponent("token").path
            try "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let environment = Self.keylessEnvironment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/secretsfs-test",
                "AWS_ROLE_SESSION_NAME": "secretsfs-test",
                "AWS_ENDPOINT_URL_STS": try motoEndpoint(),
            ])
            let store = try await makeStore(prefix: uniquePrefix("webid"), environment: environment)
            defer { Task { await store.shutdown() } }
            #expect(await store.credentialSource() == "web-identity")
            let key = try await store.client.credentials.current()
            #expect(key.signing.accessKeyID.hasPrefix("ASIA"))
            #expect(key.signing.sessionToken?.isEmpty == false)
            #expect(key.expiration != nil)
            _ = try await store.write(path("s"), content: .value(SecretValue(string: "signed-with-sts-keys")))
            #expect(value(try await store.read(path("s"))) == Array("signed-with-sts-keys".utf8))
        }
    }

    @Test func webIdentityNeedsBothVariablesAndAReadableFile() async throws {
        await expectError(.configuration) {
            _ = try await makeStore(
                prefix: nil, environment: Self.keylessEnvironment(["AWS_ROLE_ARN": "arn:aws:iam::1:role/r"]))
        }
        await expectError(.configuration) {
            _ = try await makeStore(
                prefix: nil,
                environment: Self.keylessEnvironment([
                    "AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
                    "AWS_ENDPOINT_URL_STS": try motoEndpoint(),
                ]))
        }
    }

    @Test func instanceMetadataWithIMDSv2() async throws {
        var environment = Self.keylessEnvironment(["AWS_EC2_METADATA_SERVICE_ENDPOINT": try motoEndpoint() + "/"])
        environment["AWS_EC2_METADATA_DISABLED"] = nil
        // The 1 s probe is for hosts with no metadata service; a moto busy with other tests may be slower.
        environment["AWS_METADATA_SERVICE_TIMEOUT"] = "20"
        let store = try await makeStore(prefix: uniquePrefix("imds"), environment: environment)
        defer { Task { await store.shutdown() } }
        #expect(await store.credentialSource() == "instance-metadata")
        let key = try await store.client.credentials.current()
        #expect(!key.signing.accessKeyID.isEmpty)
        #expect(key.signing.sessionToken?.isEmpty == false)
        #expect(key.expiration != nil)
        _ = try await store.write(path("s"), content: .value(SecretValue(string: "signed-with-imds-keys")))
        #expect(value(try await store.read(path("s"))) == Array("signed-with-imds-keys".utf8))
    }

    @Test func noCredentialsAnywhereIsAConfigurationError() async throws {
        let error = await expectError(.configuration) {
            _ = try await makeStore(prefix: nil, environment: Self.keylessEnvironment())
        }
        #expect(error?.message.contains("no AWS credentials") == true)
        let partial = await expectError(.configuration) {
            _ = try await makeStore(
                prefix: nil, environment: Self.keylessEnvironment(["AWS_SECRET_ACCESS_KEY": plantedSecretKey]))
        }
        let leaked = partial?.description.contains(plantedSecretKey) ?? true
        #expect(!leaked)
    }

    @Test func sharedFilesWithAProfile() async throws {
        try await withTemporaryDirectory { directory in
            let credentials = directory.appendingPathComponent("credentials").path
            let config = directory.appendingPathComponent("config").path
            try """
            # a comment
            [default]
            aws_access_key_id = AKIADEFAULTPROFILE01
            aws_secret_access_key = default-profile-secret

            [work]
            aws_access_key_id=AKIAWORKPROFILE00001
            ; another comment
            aws_secret_access_key = work-profile-secret
            """.write(toFile: credentials, atomically: true, encoding: .utf8)
            try """
            [default]
            region = us-west-2
            [profile work]
            region = eu-central-1
            s3 =
                region = ignored-nested
            [work]
            region = not-a-profile-section-in-config
            """.write(toFile: config, atomically: true, encoding: .utf8)
            var environment = Self.keylessEnvironment([
                "AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config, "AWS_PROFILE": "work",
            ])
            environment["AWS_REGION"] = nil
            let store = try await makeStore(prefix: uniquePrefix("profile"), environment: environment)
            defer { Task { await store.shutdown() } }
            #expect(await store.credentialSource() == "shared-file")
            let key = try await store.client.credentials.current()
            #expect(key.signing.accessKeyID == "AKIAWORKPROFILE00001")
            #expect(key.signing.secretAccessKey == "work-profile-secret")
            #expect(store.region == "eu-central-1")
            _ = try await store.write(path("s"), content: .value(SecretValue(string: "v")))
            #expect(value(try await store.read(path("s"))) == Array("v".utf8))

            // The flag wins over AWS_PROFILE.
            var options = AWSOptions()
            options.endpoint = try motoEndpoint()
            options.profile = "default"
            let flagged = try await AWSSecretStore.connect(
                options: options, environment: environment, homeDirectory: directory.path, logger: Logger(label: "t"))
            defer { Task { await flagged.shutdown() } }
            #expect(try await flagged.client.credentials.current().signing.accessKeyID == "AKIADEFAULTPROFILE01")
            #expect(flagged.region == "us-west-2")

            // A profile asked for by name must exist.
            environment["AWS_PROFILE"] = "absent"
            environment["AWS_REGION"] = "us-east-1"
            let missing = await expectError(.configuration) {
                _ = try await makeStore(prefix: nil, environment: environment)
            }
            #expect(missing?.message.contains("absent") == true)
        }
    }

    @Test func sharedFilesUnderTheHomeDirectory() async throws {
        try await withTemporaryDirectory { home in
            let awsDirectory = home.appendingPathComponent(".aws")
            try FileManager.default.createDirectory(at: awsDirectory, withIntermediateDirectories: true)
            try "[default]\naws_access_key_id = AKIAHOMEDIRECTORY001\naws_secret_access_key = home-secret\n".write(
                to: awsDirectory.appendingPathComponent("credentials"), atomically: true, encoding: .utf8)
            var environment = Self.keylessEnvironment()
            environment["AWS_SHARED_CREDENTIALS_FILE"] = nil
            environment["AWS_CONFIG_FILE"] = nil
            var options = AWSOptions()
            options.endpoint = try motoEndpoint()
            let store = try await AWSSecretStore.connect(
                options: options, environment: environment, homeDirectory: home.path, logger: Logger(label: "t"))
            defer { Task { await store.shutdown() } }
            #expect(try await store.client.credentials.current().signing.accessKeyID == "AKIAHOMEDIRECTORY001")
        }
    }

    @Test func containerCredentialsAreFetchedAndRefreshedBeforeExpiry() async throws {
        try await withTemporaryDirectory { directory in
            let start = Date()
            let clock = ManualTimeSource(wall: start)
            func writeCredentials(_ keyID: String, expiresIn seconds: TimeInterval) throws {
                let expiration = ISO8601DateFormatter().string(from: start.addingTimeInterval(seconds))
                let document = """
                    {"AccessKeyId": "\(keyID)", "SecretAccessKey": "container-secret-\(keyID)",
                     "Token": "container-session-token", "Expiration": "\(expiration)"}
                    """
                try document.write(
                    to: directory.appendingPathComponent("creds.json"), atomically: true, encoding: .utf8)
            }
            try writeCredentials("ASIACONTAINER0000001", expiresIn: 3600)
            let server = try await PythonFileServer.start(serving: directory)
            defer { server.stop() }

            let environment = Self.keylessEnvironment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(server.url)/creds.json",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-authorization-token",
            ])
            var options = AWSOptions()
            options.endpoint = try motoEndpoint()
            options.prefix = uniquePrefix("container")
            let store = try await AWSSecretStore.connect(
                options: options, environment: environment, homeDirectory: "/nonexistent", logger: Logger(label: "t"),
                clock: clock)
            defer { Task { await store.shutdown() } }
            #expect(await store.credentialSource() == "container")
            #expect(try await store.client.credentials.current().signing.accessKeyID == "ASIACONTAINER0000001")
            _ = try await store.write(path("s"), content: .value(SecretValue(string: "v")))

            // Well before expiry the cached key is used; within the refresh margin a new one is fetched.
            try writeCredentials("ASIACONTAINER0000002", expiresIn: 7200)
            clock.advance(by: .seconds(600))
            #expect(try await store.client.credentials.current().signing.accessKeyID == "ASIACONTAINER0000001")
            clock.advance(by: .seconds(3600 - 120 - 600))
            #expect(try await store.client.credentials.current().signing.accessKeyID == "ASIACONTAINER0000002")
        }
    }

    /// The refresh service fetches new credentials within the margin with no read asking for them,
    /// on the store's clock, and stops on graceful shutdown.
    @Test func expiringCredentialsAreRefreshedInTheBackground() async throws {
        try await withTemporaryDirectory { directory in
            let start = Date()
            let clock = ManualTimeSource(wall: start)
            func writeCredentials(_ keyID: String, expiresIn seconds: TimeInterval) throws {
                let expiration = ISO8601DateFormatter().string(from: start.addingTimeInterval(seconds))
                let document = """
                    {"AccessKeyId": "\(keyID)", "SecretAccessKey": "container-secret-\(keyID)",
                     "Token": "container-session-token", "Expiration": "\(expiration)"}
                    """
                try document.write(
                    to: directory.appendingPathComponent("creds.json"), atomically: true, encoding: .utf8)
            }
            try writeCredentials("ASIACONTAINER0000001", expiresIn: 3600)
            let server = try await PythonFileServer.start(serving: directory)
            defer { server.stop() }
            var options = AWSOptions()
            options.endpoint = try motoEndpoint()
            let store = try await AWSSecretStore.connect(
                options: options,
                environment: Self.keylessEnvironment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "\(server.url)/creds.json"]
                ),
                homeDirectory: "/nonexistent", logger: Logger(label: "t"), clock: clock)
            defer { Task { await store.shutdown() } }
            let group = ServiceGroup(services: [store.credentialRefresh], logger: Logger(label: "t"))
            let running = Task { try await group.run() }
            let keyID = { await store.client.credentials.cachedCredentials?.signing.accessKeyID }

            try writeCredentials("ASIACONTAINER0000002", expiresIn: 7200)
            // Due 5 minutes before expiry: 3300 s from now on the store's clock.
            #expect(await waitFor { clock.sleeperCount == 1 })
            clock.advance(by: .seconds(3299))
            #expect(await keyID() == "ASIACONTAINER0000001", "not before the refresh margin")
            clock.advance(by: .seconds(1))
            #expect(await waitFor { await keyID() == "ASIACONTAINER0000002" }, "refreshed with no read asking")

            #expect(await waitFor { clock.sleeperCount == 1 }, "the next refresh waits")
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(clock.sleeperCount == 0, "graceful shutdown cancels the wait")
        }
    }

    /// Polls (bounded, about 10 s) for what a background task does over real HTTP.
    private func waitFor(_ check: () async -> Bool) async -> Bool {
        for _ in 0..<100 {
            if await check() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func containerFullURIMustBeLocalOrHTTPS() async throws {
        await expectError(.configuration) {
            _ = try await makeStore(
                prefix: nil,
                environment: Self.keylessEnvironment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.1.2.3/creds"]))
        }
    }
}

/// `python3 -m http.server` on 127.0.0.1 serving a directory: a real HTTP peer for files we write.
final class PythonFileServer {
    let process: Process
    let url: String

    static func start(serving directory: URL) async throws -> PythonFileServer {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", directory.path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = PythonFileServer(process: process, url: "http://127.0.0.1:\(port)")
        for _ in 0..<100 {
            if try await ProgramRun.run("/usr/bin/env", ["curl", "-fsS", "-o", "/dev/null", server.url + "/"]).status
                == 0
            {
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw TestSetupError(description: "python http.server did not start")
    }

    private init(process: Process, url: String) {
        self.process = process
        self.url = url
    }

    func stop() {
        // SIGKILL, not terminate(): a child inherits the test runner's ignored SIGTERM.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
