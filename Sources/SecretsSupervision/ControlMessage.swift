/// What the supervisor tells a worker on the control socket, one line each.
public enum SupervisorOrder: Equatable, Sendable {
    /// Serve the inherited /dev/fuse; `takeover` when the kernel already sent INIT to a predecessor.
    case serve(takeover: Bool)
    /// Answer PONG from the executor: silence means the worker hangs (DESIGN §6).
    case ping
    /// Another worker takes over: finish the requests in hand, then exit.
    case retire
    /// The mount stops: serve what is already inside it until it goes quiet, then exit.
    case stop

    public var line: String {
        switch self {
        case .serve(let takeover): takeover ? "SERVE takeover" : "SERVE"
        case .ping: "PING"
        case .retire: "RETIRE"
        case .stop: "STOP"
        }
    }

    /// Nil for a line no supervisor of this build sends.
    public init?(line: String) {
        switch line {
        case "SERVE": self = .serve(takeover: false)
        case "SERVE takeover": self = .serve(takeover: true)
        case "PING": self = .ping
        case "RETIRE": self = .retire
        case "STOP": self = .stop
        default: return nil
        }
    }

    /// Orders after which the worker is on its way out.
    var endsTheWorker: Bool { self == .retire || self == .stop }
}

/// What a worker tells its supervisor, one line each.
public enum WorkerReport: Equatable, Sendable {
    /// Connected and holding what its predecessor left: it may be told to serve.
    case prepared
    /// The kernel's INIT was answered: a later worker must take the session over, not wait for INIT.
    case kernelInitialized
    /// Serving.
    case ready
    /// The answer to a PING.
    case pong
    /// The one line a failing worker printed, for the supervisor to pass on.
    case error(String)
    /// A summary for systemd's `STATUS=` (no path or value), sent with a PONG when it changed.
    case status(String)

    public var line: String {
        switch self {
        case .prepared: "PREPARED"
        case .kernelInitialized: "INIT"
        case .ready: "READY"
        case .pong: "PONG"
        // One line whatever the message holds.
        case .error(let message): "ERROR " + Self.oneLine(message)
        case .status(let summary): "STATUS " + Self.oneLine(summary)
        }
    }

    public init?(line: String) {
        switch line {
        case "PREPARED": self = .prepared
        case "INIT": self = .kernelInitialized
        case "READY": self = .ready
        case "PONG": self = .pong
        case let text where text.hasPrefix("ERROR "): self = .error(String(text.dropFirst("ERROR ".count)))
        case let text where text.hasPrefix("STATUS "): self = .status(String(text.dropFirst("STATUS ".count)))
        default: return nil
        }
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: "; ")
    }
}
