import Logging

/// Everything `secretsfs mount` hands the supervisor it becomes (`secretsfs-supervise`, exec'd in
/// the same process once the mount is made): the mountpoint, the descriptors, how to log and the
/// worker's command line. It travels as argv, so it holds no secret: credentials are in the
/// credentials descriptor, already written.
public struct SupervisePlan: Sendable, Equatable {
    public var mountpoint: String
    public var workerTimeout: Duration
    public var logLevel: Logger.Level
    public var logFormat: LineLogHandler.Format
    public var mount: SupervisedMount
    /// The `secretsfs` binary each worker runs, and its arguments (the mount's own, as given).
    public var worker: String
    public var workerArguments: [String]

    public init(
        mountpoint: String, workerTimeout: Duration, logLevel: Logger.Level, logFormat: LineLogHandler.Format,
        mount: SupervisedMount, worker: String, workerArguments: [String]
    ) {
        self.mountpoint = mountpoint
        self.workerTimeout = workerTimeout
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.mount = mount
        self.worker = worker
        self.workerArguments = workerArguments
    }

    /// argv after the program's name: options first, then `--` and the worker's command line.
    public var arguments: [String] {
        let fds = mount.all.map(String.init).joined(separator: ",")
        return [
            "--mountpoint", mountpoint, "--worker-timeout-ms", String(milliseconds(workerTimeout)),
            "--log", "\(logLevel.rawValue),\(logFormat.rawValue)", "--descriptors", fds,
        ] + (mount.adopted ? ["--adopted"] : []) + ["--", worker] + workerArguments
    }

    private func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Nil for anything `arguments` did not make: the program is not meant to be run by hand.
    public init?(arguments: [String]) {
        var mountpoint: String?
        var timeout: Duration?
        var log: (Logger.Level, LineLogHandler.Format)?
        var fds: [Int32]?
        var adopted = false
        var index = 0
        while index < arguments.count, arguments[index] != "--" {
            let flag = arguments[index]
            if flag == "--adopted" {
                adopted = true
                index += 1
                continue
            }
            guard index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            switch flag {
            case "--mountpoint": mountpoint = value
            case "--worker-timeout-ms": timeout = Int64(value).map { .milliseconds($0) }
            case "--log":
                let parts = value.split(separator: ",").map(String.init)
                guard parts.count == 2, let level = Logger.Level(rawValue: parts[0]),
                    let format = LineLogHandler.Format(rawValue: parts[1])
                else { return nil }
                log = (level, format)
            case "--descriptors": fds = value.split(separator: ",").compactMap { Int32($0) }
            default: return nil
            }
            index += 2
        }
        guard let mountpoint, let timeout, let log, let fds, fds.count == 5, index + 1 < arguments.count
        else { return nil }
        self.mountpoint = mountpoint
        self.workerTimeout = timeout
        self.logLevel = log.0
        self.logFormat = log.1
        self.mount = SupervisedMount(
            fuse: fds[0], inodes: fds[1], cache: fds[2], credentials: fds[3], leases: fds[4], adopted: adopted)
        self.worker = arguments[index + 1]
        self.workerArguments = Array(arguments[(index + 2)...])
    }
}
