import Foundation
import Logging
import SecretsCore
import SecretsFUSE

#if canImport(Glibc)
    import Glibc
#endif

extension MountCommand {
    /// Credentials a daemon is given in its environment. Read once here and handed to each worker
    /// in memory; gone from what `/proc/PID/environ` shows of either process (see SECURITY.md).
    static let credentialVariables = ["VAULT_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]

    /// Variables that speak to this process alone (systemd's, `--daemon`'s), not to a worker.
    static let supervisorVariables = [
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", DaemonReadiness.environmentKey,
    ]

    /// The supervisor: mounts, starts a worker and starts another whenever one dies.
    func supervise(environment: [String: String]) async throws {
        let logger = bootstrapLogging(backend, defaultLevel: .info)
        ProcessHardening.disableDumps()
        let credentials = Self.takeCredentials(environment)
        var workerEnvironment = environment
        for name in Self.credentialVariables + Self.supervisorVariables { workerEnvironment[name] = nil }
        // The binary now on disk, so a worker started after an upgrade runs the new one.
        let executable = Self.ownExecutable()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let frozenEnvironment = workerEnvironment
        let kind = try StoreFactory(options: backend, environment: environment, logger: logger).backendKind()
        let supervisor = Supervisor(
            options: mountOptions(backendName: kind.rawValue), logger: logger, credentials: credentials,
            launch: { WorkerLaunch(executable: executable, arguments: arguments, environment: frozenEnvironment) },
            onReady: {
                SystemdNotifier.notify("READY=1\nSTATUS=serving", environment: environment)
                DaemonReadiness.reportReady()
            },
            onFailure: { DaemonReadiness.reportFailure($0) })
        let status = try await supervisor.run()
        SystemdNotifier.notify("STOPPING=1", environment: environment)
        // The worker already printed its one line; the supervisor only passes its status on.
        if status != 0 { Foundation.exit(status) }
    }

    /// The credential variables' values; their bytes in this process's original environment block
    /// (what /proc/PID/environ reads) are overwritten.
    static func takeCredentials(_ environment: [String: String]) -> [String: String] {
        var taken: [String: String] = [:]
        for name in credentialVariables {
            guard let value = environment[name] else { continue }
            taken[name] = value
            if let pointer = getenv(name) { memset(pointer, 0, strlen(pointer)) }
            unsetenv(name)
        }
        return taken
    }

    static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }
}
