import ArgumentParser
import Foundation
import SecretsCore
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// `secretsfs reload MOUNTPOINT`: the mount's supervisor starts a worker from the binary and config
/// now on disk, hands over and retires the old one; readers see no error. The mount's own command
/// line is checked first, as the new worker will read it, so a broken config is one line here and
/// the running worker is left alone.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Replace a mount's worker with the binary and config now on disk; the mount keeps serving.")

    @Argument(help: "The mountpoint.") var mountpoint: String
    @Option(help: "How long to wait for the new worker to take over (default 30s).")
    var timeout = DurationArgument(.seconds(30))

    func run() async throws {
        let before = try Self.worker(of: mountpoint)
        try Self.checkCommandLine(of: before.supervisor, opensStayInKernel: before.opensStayInKernel)
        guard kill(before.supervisor, SIGHUP) == 0 else {
            throw SecretError(
                .permissionDenied, "cannot signal the supervisor (pid \(before.supervisor)) of \(mountpoint)")
        }
        let clock: any TimeSource = SystemTimeSource()
        let deadline = clock.monotonicNow() + timeout.duration
        while clock.monotonicNow() < deadline {
            try await clock.sleep(for: .milliseconds(100))
            if let now = try? Self.worker(of: mountpoint), now.reloads > before.reloads {
                printLine("reloaded \(mountpoint): worker \(now.pid) serves (was \(before.pid))")
                return
            }
        }
        throw SecretError(
            .unavailable,
            "no new worker took over \(mountpoint) within \(timeout.duration.seconds)s; the running one keeps serving (see the mount's log)"
        )
    }

    struct Worker {
        var pid: Int32
        var supervisor: Int32
        var reloads: Int
        var opensStayInKernel = false
    }

    static func worker(of mountpoint: String) throws -> Worker {
        let path = (mountpoint as NSString).appendingPathComponent(".status")
        guard let data = FileManager.default.contents(atPath: path),
            let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            throw SecretError(.notFound, "\(mountpoint) is not a secretsfs mount (no readable .status)")
        }
        guard let worker = status["worker"] as? [String: Any], let pid = worker["pid"] as? Int,
            let supervisor = worker["supervisor_pid"] as? Int, let reloads = worker["reloads"] as? Int
        else {
            throw SecretError(.configuration, "\(mountpoint) is served by a secretsfs without a supervisor")
        }
        return Worker(
            pid: Int32(pid), supervisor: Int32(supervisor), reloads: reloads,
            opensStayInKernel: status["opens"] as? String == "kernel")
    }

    /// Parses the supervisor's own arguments (and the config file they name) as the new worker will.
    /// A mount whose kernel opens files without asking cannot take a policy, an audit log or events
    /// (the new worker would refuse them too): refused here, at once, with the same line.
    static func checkCommandLine(of supervisor: Int32, opensStayInKernel: Bool = false) throws {
        guard let raw = FileManager.default.contents(atPath: "/proc/\(supervisor)/cmdline") else {
            throw SecretError(.notFound, "the supervisor (pid \(supervisor)) is gone")
        }
        var words = Array(raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.dropFirst())
        // A supervisor that became `secretsfs-supervise` carries the mount's arguments after its plan.
        if let plan = SupervisePlan(arguments: words) { words = plan.workerArguments }
        // A relative --config (or store, or template_file) is the supervisor's, whose new worker
        // reads it from the supervisor's folder, not from where `reload` was typed.
        if let folder = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(supervisor)/cwd") {
            _ = FileManager.default.changeCurrentDirectoryPath(folder)
        }
        do {
            let rewritten = try ArgumentRewriter.rewrite(words, environment: ProcessInfo.processInfo.environment)
            let command = try SecretsFSCommand.parseAsRoot(rewritten)
            guard let mount = command as? MountCommand else {
                throw SecretError(.configuration, "pid \(supervisor) is not a secretsfs mount")
            }
            let config = try mount.backend.config.map { try ConfigFile.load($0) }
            _ = try config?.checkStructuredKeys()
            let policy = try config?.policy()
            let needsOpens = mount.auditLog != nil || mount.events || policy != nil
            if opensStayInKernel, needsOpens { throw SecretError.reloadNeedsNewMount }
        } catch let error as SecretError where error == .reloadNeedsNewMount {
            throw error
        } catch let error as SecretError {
            throw SecretError(error.code, "reload refused, the running worker keeps serving: \(error.message)")
        } catch {
            let message = SecretsFSCommand.usageLine(for: error, arguments: words)
            throw SecretError(.configuration, "reload refused, the running worker keeps serving: \(message)")
        }
    }
}
