// What the Vault tests share: the OpenBao servers scripts/lib/openbao.sh started, a small client of
// Vault's HTTP API to set data up (the store under test is never used to check itself), a log capture,
// and real processes (a bao server to kill, a plain HTTP server) for faults.
import Foundation
import Logging
import SecretStoreConformance
import SecretsBackendVault
import SecretsCore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct MissingTestServer: Error, CustomStringConvertible {
    var variable: String
    var description: String {
        "\(variable) is not set: run the Vault tests through scripts/test, or `source scripts/lib/openbao.sh` "
            + "and call openbao_start (and openbao_start_tls) before `swift test`"
    }
}

enum TestEnvironment {
    static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingTestServer(variable: name)
        }
        return value
    }

    static func plain() throws -> VaultAPI {
        VaultAPI(
            address: try require("SECRETSFS_TEST_VAULT_ADDR"), token: try require("SECRETSFS_TEST_VAULT_TOKEN"))
    }

    static func unique(_ stem: String) -> String {
        "\(stem)-\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// A tiny client of Vault's HTTP API for setting up and checking data from the outside.
struct VaultAPI: Sendable {
    var address: String
    var token: String
    var namespace: String? = nil

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Sends one call; returns the status and the decoded JSON body (nil when empty).
    @discardableResult
    func call(_ method: String, _ path: String, _ json: [String: Any]? = nil) async throws -> (Int, [String: Any]?) {
        var request = URLRequest(url: URL(string: address + "/v1/" + path)!)
        request.httpMethod = method
        request.setValue(token, forHTTPHeaderField: "X-Vault-Token")
        if let namespace { request.setValue(namespace, forHTTPHeaderField: "X-Vault-Namespace") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        return (status, body)
    }

    /// Like `call`, but a status other than 2xx fails the test setup.
    @discardableResult
    func must(_ method: String, _ path: String, _ json: [String: Any]? = nil) async throws -> [String: Any]? {
        let (status, body) = try await call(method, path, json)
        guard (200..<300).contains(status) else {
            throw Failure(description: "setup call \(method) \(path) answered \(status)")
        }
        return body
    }

    func enableKV2(_ mount: String) async throws {
        try await must("POST", "sys/mounts/\(mount)", ["type": "kv", "options": ["version": "2"]])
    }

    func put(_ mount: String, _ path: String, _ data: [String: Any]) async throws -> Int {
        let body = try await must("POST", "\(mount)/data/\(path)", ["data": data])
        guard let version = (body?["data"] as? [String: Any])?["version"] as? Int else {
            throw Failure(description: "write of \(path) answered no version")
        }
        return version
    }

    func get(_ mount: String, _ path: String) async throws -> [String: Any] {
        let body = try await must("GET", "\(mount)/data/\(path)")
        guard let data = (body?["data"] as? [String: Any])?["data"] as? [String: Any] else {
            throw Failure(description: "read of \(path) answered no data")
        }
        return data
    }

    func policy(_ name: String, _ hcl: String) async throws {
        try await must("PUT", "sys/policies/acl/\(name)", ["policy": hcl])
    }

    func createToken(_ options: [String: Any]) async throws -> String {
        let body = try await must("POST", "auth/token/create", options)
        guard let token = (body?["auth"] as? [String: Any])?["client_token"] as? String else {
            throw Failure(description: "token create answered no token")
        }
        return token
    }
}

/// Collects every log line (message and metadata) so tests can assert no secret ever reaches a log.
extension LogCapture {
    /// Fails the test for each log line that holds one of `secrets`.
    func expectNone(of secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            leaks(of: secrets).isEmpty, "a log line holds a planted secret or token", sourceLocation: sourceLocation)
    }
}

/// Asserts `body` throws a SecretError with `code`, whose description holds none of `secrets`.
@discardableResult
func expectSecretError<T>(
    _ code: SecretError.Code,
    hiding secrets: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async -> SecretError? {
    do {
        let result = try await body()
        // A store that connected by mistake still owns an HTTP client that must be shut down.
        if let store = result as? VaultSecretStore { await store.shutdown() }
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as SecretError {
        #expect(error.code == code, "expected \(code), got \(error.code): \(error)", sourceLocation: sourceLocation)
        for secret in secrets where !secret.isEmpty {
            #expect(!error.description.contains(secret), "an error holds a secret", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected SecretError \(code), got \(type(of: error))", sourceLocation: sourceLocation)
        return nil
    }
}

func plainValue(_ secret: Secret, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    guard case .value(let value) = secret.content else {
        Issue.record("expected a plain value", sourceLocation: sourceLocation)
        return nil
    }
    return value.utf8String()
}

func connect(
    _ api: VaultAPI,
    mount: String,
    capture: LogCapture,
    clock: any TimeSource = SystemTimeSource(),
    configure: (inout VaultOptions) -> Void = { _ in }
) async throws -> VaultSecretStore {
    var options = VaultOptions()
    options.address = api.address
    options.mount = mount
    // All tests start at once on two CPUs: one not about timing gets room enough that a busy
    // OpenBao never looks like a dead one; the fault tests set their own short deadlines.
    options.timeout = .seconds(15)
    configure(&options)
    return try await VaultSecretStore.connect(
        options: options, environment: ["VAULT_TOKEN": api.token], homeDirectory: "/nonexistent",
        logger: capture.logger(), clock: clock)
}

/// Writes `contents` to a new file only this user can read, for tokens, secret ids and JWTs.
func temporaryFile(_ contents: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("vault-test")).path
    guard
        FileManager.default.createFile(
            atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600])
    else { throw VaultAPI.Failure(description: "cannot create a temporary file") }
    return path
}

/// Runs a program to completion on this thread and returns its standard output; a non-zero exit fails.
@discardableResult
func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> String {
    let run = try ProgramRun.blocking(executable, arguments, environment: nil, input: input)
    guard run.status == 0 else {
        throw VaultAPI.Failure(description: "\(arguments.first ?? executable) exited \(run.status)")
    }
    return run.output
}

/// A process this test started and must stop: a bao dev server or a plain HTTP server.
final class ChildProcess: @unchecked Sendable {
    let process: Process

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) { kill(pid, number) }

    /// SIGSTOP, then waits until every thread has stopped: kill(2) returns before a busy
    /// multi-threaded process (Go's runtime) has stopped, and a request sent in between is answered.
    func pause() async {
        kill(pid, SIGSTOP)
        for _ in 0..<200 {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let state = stat.split(separator: ")").last?.split(separator: " ").first
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            let allStopped = threads.allSatisfy { tid in
                let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8)) ?? ""
                return text.split(separator: ")").last?.split(separator: " ").first == "T"
            }
            if state == "T", allStopped { return }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    /// SIGKILL: the test process hands its children a signal mask that blocks SIGTERM, and a crash is the
    /// fault we want anyway.
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// Waits (bounded) until `check` is true, polling.
func waitUntil(seconds: Double, _ check: () async -> Bool) async -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if await check() { return true }
        try? await Task.sleep(nanoseconds: 100_000_000)
    }
    return false
}
