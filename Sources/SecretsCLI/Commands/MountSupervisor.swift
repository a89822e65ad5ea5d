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
    static let credentialVariables = Backends.credentialVariables

    /// Variables that speak to this process alone (systemd's, `--daemon`'s), not to a worker.
    static let supervisorVariables = [
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "FDSTORE", DaemonReadiness.environmentKey,
    ]

    /// The supervisor: mounts, starts a worker and starts another whenever one dies.
    func supervise(environment: [String: String]) async throws {
        let logger = bootstrapLogging(backend, defaultLevel: .info)
        warnIfOthersAreLockedOut(logger)
        // Checked before mounting, so a broken config is one line and no mount is made.
        let structured = try backend.config.map { try ConfigFile.load($0).checkStructuredKeys() }
        if let structured {
            warnIfConfiguredOwnersAreLockedOut(
                logger, rules: structured.permissions, files: structured.files.all)
        }
        try refuseFilesUnderMountpoint(environment)
        let credentials = Self.takeCredentials(environment)
        var workerEnvironment = environment
        for name in Self.credentialVariables + Self.supervisorVariables { workerEnvironment[name] = nil }
        // The binary now on disk, so a worker started after an upgrade runs the new one.
        let executable = Self.ownExecutable()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let frozenEnvironment = workerEnvironment
        var keeper: (@Sendable ([(String, Int32)]) -> Bool)?
        var release: (@Sendable () -> Void)?
        // systemd 254 and later set FDSTORE to FileDescriptorStoreMax; the unit file sets it for older
        // ones. Without it systemd would drop the descriptors and a stop would leave a dead mount.
        if environment["NOTIFY_SOCKET"] != nil, let room = environment["FDSTORE"].flatMap(Int.init), room >= 4 {
            keeper = { descriptors in
                descriptors.allSatisfy { SystemdFDStore.store($0.1, name: $0.0, environment: environment) }
            }
            release = { SystemdFDStore.remove(SystemdFDStore.mountNames, environment: environment) }
        }
        var factory = StoreFactory(options: backend, environment: environment, logger: logger)
        factory.certificates = structured?.certificates ?? []
        let kind = try factory.checkedBackendKind()
        let supervisor = Supervisor(
            options: mountOptions(backendName: kind.rawValue), logger: logger, credentials: credentials,
            launch: { WorkerLaunch(executable: executable, arguments: arguments, environment: frozenEnvironment) },
            onReady: {
                SystemdNotifier.notify("READY=1\nSTATUS=serving", environment: environment)
                DaemonReadiness.reportReady()
            },
            onFailure: { DaemonReadiness.reportFailure($0, status: $1) },
            adopted: Self.adoptedMount(environment, mountpoint: mountpoint, logger: logger),
            storeDescriptors: keeper, releaseDescriptors: release,
            onStatus: { SystemdNotifier.notify("STATUS=\($0)", environment: environment) })
        let status = try await supervisor.run()
        SystemdNotifier.notify("STOPPING=1", environment: environment)
        // The worker already printed its one line; the supervisor only passes its status on.
        if status != 0 { Foundation.exit(status) }
    }

    /// Every worker reads its files after the mount is made; one inside the mountpoint folder is
    /// hidden by the mount itself, and reading it would wait on the worker reading it.
    func refuseFilesUnderMountpoint(_ environment: [String: String]) throws {
        let folder = MountPoint.canonical(mountpoint) + "/"
        let named: [(flag: String, path: String?)] =
            [
                (OptionSpec.config.flag, backend.config ?? OptionSpec.config.value(in: environment)),
                (OptionSpec.auditLog.flag, auditLog), (OptionSpec.cacheFile.flag, cacheFile),
                (OptionSpec.cacheKeyFile.flag, cacheKeyFile),
            ] + Backends.filesRead(by: backend.backends, environment: environment)
        for case (let flag, let path?) in named where MountPoint.canonical(path).hasPrefix(folder) {
            throw SecretError(
                .configuration, "\(flag) \(path) is inside the mountpoint \(mountpoint), which the mount would hide")
        }
    }

    /// The mount systemd kept for this mountpoint, if it passed one back (`LISTEN_FDNAMES` fuse,
    /// inodes, cache, mountpoint); descriptors for another mountpoint are closed and ignored.
    static func adoptedMount(_ environment: [String: String], mountpoint: String, logger: Logger) -> AdoptedMount? {
        let passed = SystemdFDStore.passed(environment)
        guard let fuse = passed["fuse"] else { return nil }
        var recorded = [UInt8](repeating: 0, count: Int(PATH_MAX))
        let count = passed["mountpoint"].map { pread($0, &recorded, recorded.count, 0) } ?? -1
        let path = count > 0 ? String(decoding: recorded[0..<count], as: UTF8.self) : ""
        let wanted = MountPoint.canonical(mountpoint)
        guard path == wanted, MountPoint.isFUSEMount(wanted), let inodes = passed["inodes"], let cache = passed["cache"]
        else {
            logger.warning(
                "the descriptors systemd passed are not a mount of this mountpoint; mounting anew",
                metadata: ["mountpoint": "\(wanted)", "stored_for": "\(path)"])
            for fd in passed.values { close(fd) }
            return nil
        }
        if let record = passed["mountpoint"] { close(record) }
        return AdoptedMount(fuse: fuse, inodes: inodes, cache: cache, leases: passed["leases"] ?? -1)
    }

    /// The credential variables' values; their bytes in this process's original environment block
    /// (what /proc/PID/environ reads) are overwritten.
    static func takeCredentials(_ environment: [String: String]) -> [String: String] {
        var taken: [String: String] = [:]
        for name in credentialVariables {
            guard let value = environment[name] else { continue }
            taken[name] = value
            if let pointer = getenv(name) {
                SecretValue.zero(UnsafeMutableRawBufferPointer(start: pointer, count: strlen(pointer)))
            }
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
