#if canImport(Glibc)
    import Glibc
#endif

/// What the daemon tells the `mount --daemon` that waits for it, one line on a pipe: it serves, or
/// it failed with this exit status and this one line, which the waiting process exits with and
/// prints, so `--daemon` (and fstab) reports a failure as the foreground mount does.
public enum DaemonVerdict: Equatable, Sendable {
    case ready
    case failed(status: Int32, line: String)

    public var encoded: String {
        switch self {
        case .ready: return "READY\n"
        case .failed(let status, let line):
            // One line whatever the message holds; a status of 0 would read as success.
            let flat = line.split(whereSeparator: \.isNewline).joined(separator: "; ")
            return "ERROR \(status == 0 ? 1 : status) \(flat)\n"
        }
    }

    /// Nil for anything else, which the waiting process takes for a daemon that died first.
    public init?(decoding text: String) {
        let text = String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        if text == "READY" {
            self = .ready
            return
        }
        guard text.hasPrefix("ERROR ") else { return nil }
        let rest = text.dropFirst("ERROR ".count)
        let parts = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard let status = Int32(parts[0]), (1...255).contains(status) else { return nil }
        self = .failed(status: status, line: parts.count > 1 ? String(parts[1]) : "")
    }
}

/// `mount --daemon`: the parent starts the same command again without `--daemon` in a new
/// session, then waits on a pipe for the child to say it serves (exit 0) or why it failed (its
/// exit status and one-line error, which the parent exits with) — as gocryptfs does.
public enum DaemonReadiness {
    public static let environmentKey = "SECRETSFS_READY_FD"

    private static var descriptor: Int32? {
        getenv(environmentKey).flatMap { Int32(String(cString: $0)) }
    }

    public static func reportReady() { send(DaemonVerdict.ready.encoded) }

    public static func reportFailure(_ message: String, status: Int32) {
        send(DaemonVerdict.failed(status: status, line: message).encoded)
    }

    private static func send(_ line: String) {
        guard let fd = descriptor else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        unsetenv(environmentKey)
    }
}
