import Crypto
import Foundation
import SecretsCore
import SecretsFUSE
import SecretsFileSystem
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// Volumes' mounts as transient services of the node's systemd (`secretsfs csi --run-mounts
/// systemd`), the way kubelet's own FUSE mounts and mountpoint-s3's CSI driver outlive a plugin
/// container: the kubelet restarting the plugin kills the container's whole cgroup and pid
/// namespace, but not a unit of the node's systemd. Each mount's supervisor is a `Type=notify`
/// service of its own, so it holds the /dev/fuse descriptor outside the container; the plugin
/// reaches systemd through the node's /run/systemd (its private socket) with systemctl and
/// systemd-run. The unit runs the plugin's binary as copied to the state folder under a versioned
/// name, so the node can run it and an upgrade leaves running units on the binary they started with.
struct CSISystemdUnits: Sendable {
    let systemctl: String
    let systemdRun: String
    /// The versioned copy of this binary the units run.
    let binary: String
    /// The plugin's state folder: the same path on the node (a hostPath volume).
    let stateFolder: String

    /// What a volume's mount is told of the plugin's environment: addresses, regions, proxies,
    /// never a credential (a unit's environment is readable by anyone on the node: `systemctl show`).
    static let passedPrefixes = ["VAULT_", "BAO_", "AWS_", "SECRETSFS_", "SSL_CERT_"]
    static let passedNames: Set<String> = [
        "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
    ]

    /// Not credentials, but no use without them: half an AWS key pair; `mount --daemon`'s pipe.
    static let withheld: Set<String> = ["AWS_ACCESS_KEY_ID", DaemonReadiness.environmentKey]

    /// The node's systemd, if it answers; otherwise why not (one line).
    static func connect(stateFolder: String) -> Result<CSISystemdUnits, SecretError> {
        guard let systemctl = tool("systemctl"), let systemdRun = tool("systemd-run") else {
            return .failure(SecretError(.unavailable, "systemctl and systemd-run are not in the plugin's PATH"))
        }
        // A manager property: answered only by a running systemd through its socket.
        let version = run(systemctl, ["show", "--property=Version", "--value"])
        guard version.status == 0, !version.output.isEmpty else {
            return .failure(SecretError(.unavailable, "no systemd answers on /run/systemd/private"))
        }
        do {
            let binary = try installBinary(folder: stateFolder + "/bin")
            let units = CSISystemdUnits(
                systemctl: systemctl, systemdRun: systemdRun, binary: binary, stateFolder: stateFolder)
            units.removeUnusedBinaries()
            return .success(units)
        } catch {
            return .failure(error)
        }
    }

    /// One unit per mountpoint; a new plugin finds it by the same name.
    static func unitName(mountpoint: String) -> String {
        "secretsfs-csi-\(CSINodeVolumes.key(MountPoint.canonical(mountpoint))).service"
    }

    /// Starts `secretsfs mount MOUNTPOINT …` as a unit and returns once it serves (systemd-run
    /// waits for READY=1) or with its exit status and the one line it printed. Blocks.
    func start(arguments: [String], logFile: String, environment: [String: String]?) -> DaemonVerdict {
        guard arguments.count >= 2, arguments[0] == "mount" else {
            return .failed(status: ExitStatus.usage.rawValue, line: "not a mount")
        }
        let mountpoint = arguments[1]
        let unit = Self.unitName(mountpoint: mountpoint)
        // A unit left from a mount that died (its target is republished): gone before a new start.
        _ = Self.run(systemctl, ["stop", unit])
        _ = Self.run(systemctl, ["reset-failed", unit])
        let logStart = (try? FileManager.default.attributesOfItem(atPath: logFile)[.size] as? Int) ?? 0

        var words = [
            "--quiet", "--unit=\(unit)", "--description=secretsfs CSI volume at \(mountpoint)",
            "--service-type=notify",
            // SIGTERM to the supervisor alone, which stops its worker and unmounts.
            "--property=KillMode=mixed", "--property=TimeoutStopSec=30", "--property=LimitCORE=0",
            "--property=StandardOutput=append:\(logFile)", "--property=StandardError=append:\(logFile)",
        ]
        for (name, value) in Self.passed(environment ?? ProcessInfo.processInfo.environment) {
            words.append("--setenv=\(name)=\(value)")
        }
        words += ["--", binary]
        for argument in arguments {
            do throws(SecretError) {
                // systemd expands $NAME in a command line; $$ is its escape for a literal $.
                words.append(try onNode(argument).replacingOccurrences(of: "$", with: "$$"))
            } catch {
                return .failed(status: ExitStatus.code(for: error).rawValue, line: error.message)
            }
        }
        let started = Self.run(systemdRun, words)
        if started.status == 0 { return .ready }

        let status = Int32(Self.run(systemctl, ["show", "--property=ExecMainStatus", "--value", unit]).output) ?? 0
        _ = Self.run(systemctl, ["reset-failed", unit])
        let line = Self.lastError(in: logFile, from: logStart) ?? "the mount's unit \(unit) did not start"
        return .failed(status: status == 0 ? ExitStatus.unavailable.rawValue : status, line: line)
    }

    /// Stops the unit that serves `mountpoint` (unmounted already: its supervisor is on its way out).
    func stop(mountpoint: String) {
        let unit = Self.unitName(mountpoint: mountpoint)
        _ = Self.run(systemctl, ["stop", unit])
        _ = Self.run(systemctl, ["reset-failed", unit])
    }

    /// The operator's config file lives in the plugin's container (a ConfigMap): the unit reads a
    /// copy in the state folder, named by its content, so a later change of the file is a new copy.
    private func onNode(_ argument: String) throws(SecretError) -> String {
        guard argument.hasPrefix("--config=") else { return argument }
        let source = String(argument.dropFirst("--config=".count))
        guard let data = FileManager.default.contents(atPath: source) else {
            throw SecretError(.configuration, "cannot read the config file \(source)")
        }
        let folder = stateFolder + "/configs"
        let name = SHA256.hash(data: data).prefix(16).map { String(format: "%02x", $0) }.joined()
        let copy = folder + "/\(name).yaml"
        if FileManager.default.fileExists(atPath: copy) { return "--config=\(copy)" }
        if mkdir(folder, 0o700) != 0, errno != EEXIST {
            throw SecretError(.configuration, "cannot create \(folder): \(CSINodeVolumes.reason())")
        }
        guard CSINodeVolumes.place(data, at: copy, mode: 0o600) else {
            throw SecretError(.configuration, "cannot copy the config file to \(folder): \(CSINodeVolumes.reason())")
        }
        return "--config=\(copy)"
    }

    static func passed(_ environment: [String: String]) -> [(String, String)] {
        environment.filter { name, value in
            !ProgramSpawn.withheld.contains(name) && !Self.withheld.contains(name)
                && (passedNames.contains(name) || passedPrefixes.contains { name.hasPrefix($0) })
                && !value.contains(where: \.isNewline)
        }.sorted { $0.key < $1.key }
    }

    // MARK: - The binary

    /// Copies this process's binary to `folder` as `secretsfs-VERSION-HASH` (kept if there), so the
    /// node runs a file that no image update replaces under a running unit.
    static func installBinary(folder: String) throws(SecretError) -> String {
        let source = MountCommand.ownExecutable()
        guard let data = FileManager.default.contents(atPath: source) else {
            throw SecretError(.configuration, "cannot read the plugin's own binary \(source)")
        }
        let hash = SHA256.hash(data: data).prefix(6).map { String(format: "%02x", $0) }.joined()
        let path = folder + "/secretsfs-\(SecretsFSVersion.string)-\(hash)"
        if FileManager.default.fileExists(atPath: path) { return path }
        if mkdir(folder, 0o700) != 0, errno != EEXIST {
            throw SecretError(.configuration, "cannot create \(folder): \(CSINodeVolumes.reason())")
        }
        guard CSINodeVolumes.place(data, at: path, mode: 0o755) else {
            throw SecretError(.configuration, "cannot copy the plugin's binary to \(path): \(CSINodeVolumes.reason())")
        }
        return path
    }

    /// Earlier versions no unit runs any more. A running unit's file stays: its supervisor starts
    /// each new worker from it. Nothing goes unless systemd answered for every unit.
    func removeUnusedBinaries() {
        let folder = stateFolder + "/bin"
        let listed = Self.run(systemctl, ["list-units", "--all", "--plain", "--no-legend", "secretsfs-csi-*"])
        guard listed.status == 0 else { return }
        var used: Set<String> = [binary]
        for line in listed.output.split(separator: "\n") {
            guard let unit = line.split(separator: " ").first else { continue }
            let exec = Self.run(systemctl, ["show", "--property=ExecStart", "--value", String(unit)])
            guard exec.status == 0 else { return }
            if let path = exec.output.split(separator: " ").first(where: { $0.hasPrefix("path=") }) {
                used.insert(String(path.dropFirst(5)))
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where name.hasPrefix("secretsfs-") && !used.contains(folder + "/" + name) {
            unlink(folder + "/" + name)
        }
    }

    // MARK: - Helpers

    private static func tool(_ name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return (folders + ["/usr/bin", "/bin"]).map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// The last `secretsfs: …` line the unit's mount wrote after `offset`.
    private static func lastError(in logFile: String, from offset: Int) -> String? {
        guard let handle = FileHandle(forReadingAtPath: logFile) else { return nil }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").last { $0.hasPrefix("secretsfs: ") }.map { String($0.dropFirst(11)) }
    }

    /// Runs a systemd tool to its end: its exit status and what it printed, trimmed.
    static func run(_ program: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, "") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus,
            String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        )
    }
}
