#if canImport(Glibc)
    import Glibc
#endif

/// What a supervisor gives the worker it starts: descriptors at fixed numbers and a few figures,
/// named in one environment variable. The worker's environment holds no secret (see SECURITY.md).
/// The worker's use of the descriptors (journals, credentials) is SecretsFUSE's `WorkerJournals`.
public struct WorkerChannel: Sendable, Equatable {
    public static let environmentKey = "SECRETSFS_WORKER"

    /// The mounted /dev/fuse.
    public var fuse: Int32 = 3
    /// Inode records (`SharedJournal`), kept for the life of the mount.
    public var inodes: Int32 = 4
    /// The cache's answers (`SharedJournal`).
    public var cache: Int32 = 5
    /// Lines both ways: `WorkerReport`s from the worker, `SupervisorOrder`s to it.
    public var control: Int32 = 6
    /// Credentials the supervisor took out of its environment: NAME=VALUE, NUL-separated.
    public var credentials: Int32 = 7
    /// Leased credentials (`leases:`, `SharedJournal`), so a new worker renews them rather than making new ones.
    public var leases: Int32 = 8
    public var generation: UInt32 = 0
    public var restarts: Int = 0
    public var reloads: Int = 0
    public var supervisor: Int32 = 0

    public init() {}

    public var encoded: String {
        "generation=\(generation),restarts=\(restarts),reloads=\(reloads),supervisor=\(supervisor)"
    }

    /// The channel named in `environment`, or nil when this process is not a worker.
    public static func from(_ environment: [String: String]) -> WorkerChannel? {
        guard let text = environment[environmentKey] else { return nil }
        var channel = WorkerChannel()
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "generation": channel.generation = UInt32(parts[1]) ?? 0
            case "restarts": channel.restarts = Int(parts[1]) ?? 0
            case "reloads": channel.reloads = Int(parts[1]) ?? 0
            case "supervisor": channel.supervisor = Int32(parts[1]) ?? 0
            default: continue
            }
        }
        return channel
    }

    // MARK: The worker's end

    /// Sends one report to the supervisor.
    public func tell(_ report: WorkerReport) { Self.writeLine(report.line, to: control) }

    /// Blocks until the supervisor sends an order; nil at end of file (the supervisor is gone). A
    /// line this build does not know is skipped.
    public func listen() -> SupervisorOrder? {
        while let line = Self.readLine(from: control) {
            if let order = SupervisorOrder(line: line) { return order }
        }
        return nil
    }

    /// The control socket's one format, both ways: a line of text. Read a byte at a time, so no
    /// line is taken from the socket before it is asked for.
    static func readLine(from fd: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    static func writeLine(_ line: String, to fd: Int32) {
        let text = line.hasSuffix("\n") ? line : line + "\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }
}
