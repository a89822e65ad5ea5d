import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

extension MountCommand {
    /// Credentials a daemon is given in its environment. Read once here and handed to each worker
    /// in memory; gone from what `/proc/PID/environ` shows of either process (see SECURITY.md).
    static let credentialVariables = Backends.credentialVariables

    /// The supervisor: mounts, then becomes `secretsfs-supervise` (or, without it, supervises
    /// here), which starts a worker and starts another whenever one dies.
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
        var factory = StoreFactory(options: backend, environment: environment, logger: logger)
        factory.certificates = structured?.certificates ?? []
        let kind = try factory.checkedBackendKind()
        let options = mountOptions(backendName: kind.rawValue)
        let mount: SupervisedMount
        if let adopted = Self.adoptedMount(environment, mountpoint: mountpoint, logger: logger) {
            mount = adopted
        } else {
            mount = try KernelMount.mount(options)
            // "mounted" is the worker's to say, once it serves.
            logger.debug(
                "kernel mount made", metadata: ["mountpoint": "\(options.mountpoint)", "supervisor": "\(getpid())"])
        }
        KernelMount.writeCredentials(credentials, to: mount.credentials)
        // The binary now on disk, so a worker started after an upgrade runs the new one.
        let plan = SupervisePlan(
            mountpoint: options.mountpoint, workerTimeout: options.workerTimeout,
            logLevel: backend.logLevel ?? .info, logFormat: backend.logFormat, mount: mount,
            worker: Self.ownExecutable(), workerArguments: Array(CommandLine.arguments.dropFirst()))
        var supervisorEnvironment = environment
        for name in Self.credentialVariables { supervisorEnvironment[name] = nil }
        Self.becomeSupervisor(plan, environment: supervisorEnvironment, logger: logger)
        let status = await SupervisorProcess.run(plan, logger: logger)
        // The worker already printed its one line; the supervisor only passes its status on.
        if status != 0 { Foundation.exit(status) }
    }

    /// Replaces this process (same pid, so systemd's MainPID, `--daemon`'s pipe and the descriptors
    /// stay) with `secretsfs-supervise` from beside this binary: the process that lives as long as
    /// the mount then holds none of this one's Foundation, NIO or parsed configuration. Returns only
    /// when there is none to run; this process then supervises itself.
    static func becomeSupervisor(_ plan: SupervisePlan, environment: [String: String], logger: Logger) {
        let folder = plan.worker.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        let program = folder + "/" + SupervisorProcess.programName
        guard access(program, X_OK) == 0 else {
            logger.debug("no \(SupervisorProcess.programName) beside the binary; supervising in this process")
            return
        }
        KernelMount.inheritAcrossExec(plan.mount)
        let arguments = [program] + plan.arguments
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        execve(program, &argv, &envp)
        let failure = errno
        argv.forEach { free($0) }
        envp.forEach { free($0) }
        logger.warning(
            "cannot run \(program); supervising in this process",
            metadata: ["error": "\(String(cString: strerror(failure)))"])
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
    static func adoptedMount(_ environment: [String: String], mountpoint: String, logger: Logger) -> SupervisedMount? {
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
        return KernelMount.adopt(fuse: fuse, inodes: inodes, cache: cache, leases: passed["leases"])
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
