import Foundation
import Logging
import SecretStoreConformance
import SecretsCore
import Synchronization
import Testing

@testable import SecretsBackendAWS

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
}

/// The moto that `scripts/test` started. Missing means the tests were run the wrong way: they fail,
/// they never pass silently.
func motoEndpoint() throws -> String {
    guard let endpoint = ProcessInfo.processInfo.environment["SECRETSFS_TEST_AWS_ENDPOINT"], !endpoint.isEmpty else {
        throw TestSetupError(
            description: "SECRETSFS_TEST_AWS_ENDPOINT is not set: run the tests through scripts/test "
                + "(or `source scripts/lib/moto.sh; moto_start` first)")
    }
    return endpoint
}

/// The secret key every test signs with; planted so the redaction checks can look for it.
let plantedSecretKey = "planted-SECRET-KEY-d41d8cd98f00b204e9800998ecf8427e"
let plantedAccessKey = "AKIAPLANTEDTESTKEY01"

/// An environment with keys, a region, and nothing that could reach outside 127.0.0.1.
func baseEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = [
        "AWS_ACCESS_KEY_ID": plantedAccessKey,
        "AWS_SECRET_ACCESS_KEY": plantedSecretKey,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
    ]
    for (key, value) in extra { environment[key] = value }
    return environment
}

/// A prefix no other test uses, so tests sharing one moto do not see each other's secrets.
func uniquePrefix(_ label: String) -> String {
    "t-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
}

func makeStore(
    endpoint: String? = nil,
    prefix: String?,
    expand: Bool = false,
    environment: [String: String] = baseEnvironment(),
    timeout: Duration? = nil,
    logger: Logger = Logger(label: "test.aws"),
    tuning: AWSSecretStore.Tuning = AWSSecretStore.Tuning()
) async throws -> AWSSecretStore {
    var options = AWSOptions()
    options.endpoint = try endpoint ?? motoEndpoint()
    options.prefix = prefix
    options.expandJSONFields = expand
    // Every test starts at once and shares one moto on two CPUs: a test not about timing gets room
    // enough that a busy moto never looks like a dead one.
    options.timeout = timeout ?? .seconds(30)
    return try await AWSSecretStore.connect(
        options: options, environment: environment, homeDirectory: "/nonexistent-home", logger: logger, tuning: tuning)
}

func path(_ text: String) -> SecretPath { try! SecretPath(text) }

func value(_ secret: Secret) -> [UInt8]? {
    guard case .value(let value) = secret.content else { return nil }
    return value.copyBytes()
}

/// A moto server of a test's own, for what must not disturb the shared one: signature checking
/// switched on, or the server killed.
final class OwnMoto {
    let process: Process
    let endpoint: String
    let directory: URL

    static func start() async throws -> OwnMoto {
        let port = try freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-own-moto-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("moto.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["moto_server", "-H", "127.0.0.1", "-p", "\(port)"]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let moto = OwnMoto(process: process, endpoint: "http://127.0.0.1:\(port)", directory: directory)
        for _ in 0..<150 {
            if try await moto.curl(["-fsS", "-o", "/dev/null", "\(moto.endpoint)/moto-api/"]) == 0 { return moto }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        moto.stop()
        throw TestSetupError(description: "own moto_server did not start (see \(log.path))")
    }

    private init(process: Process, endpoint: String, directory: URL) {
        self.process = process
        self.endpoint = endpoint
        self.directory = directory
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func curl(_ arguments: [String]) async throws -> Int32 {
        try await ProgramRun.run("/usr/bin/env", ["curl"] + arguments).status
    }
}

/// A temporary directory removed at the end of the test.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-aws-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// Expects `body` to throw a SecretError with `code`, and returns it for further checks.
@discardableResult
func expectError(
    _ code: SecretError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> SecretError? {
    do {
        try await body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as SecretError {
        #expect(error.code == code, "expected \(code), got \(error.code): \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected SecretError \(code), got \(type(of: error))", sourceLocation: sourceLocation)
    }
    return nil
}
