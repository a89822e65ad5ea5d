import CProcessGuard

#if canImport(Glibc)
    import Glibc
#endif

/// The one `posix_spawn` behind every child secretsfs starts (a worker, the daemon, `exec`'s
/// program, an `on_change` program): each caller says which descriptors the child gets, whether it
/// leads a session or a process group of its own and which signals it gets back at their defaults;
/// nothing else is inherited by accident.
public struct ChildSpawn {
    public enum FileAction: Sendable {
        /// `path` opened on `fd` in the child.
        case open(Int32, path: String, flags: Int32)
        /// The parent's `fd` as the child's `as`.
        case duplicate(Int32, as: Int32)
        case close(Int32)
        /// Every descriptor from this number up, whether or not it is close-on-exec.
        case closeFrom(Int32)
    }

    /// A path, or a name looked up in `PATH` when `searchesPath`.
    public var program: String
    /// argv, its first word included.
    public var arguments: [String]
    public var searchesPath = false
    public var fileActions: [FileAction] = []
    /// setsid(2) in the child: no controlling terminal, no signal from the caller's.
    public var newSession = false
    /// A process group of its own, so a signal to `-pid` reaches whatever it starts too.
    public var ownProcessGroup = false
    /// Set back to their default disposition; nil inherits the caller's (a handled signal is always
    /// reset). The child starts with no signal blocked whatever the starting thread blocks: a thread of
    /// Dispatch's blocks nearly all, the supervisor's block what it reads (`SupervisorSignals`).
    public var defaultSignals: [Int32]?

    public init(program: String, arguments: [String], searchesPath: Bool = false) {
        self.program = program
        self.arguments = arguments
        self.searchesPath = searchesPath
    }

    /// Starts the child with `environment` (`NAME=value` each, in this order).
    public func start(environment: [String]) throws(SpawnError) -> pid_t {
        var block = environment.map { Array($0.utf8) + [0] }
        return try start(environmentBlock: &block)
    }

    /// Starts the child with an environment block the caller built (and zeroes after): a value in
    /// it is never copied into a Swift string.
    public func start(environmentBlock: inout [[UInt8]]) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for action in fileActions {
            switch action {
            case .open(let fd, let path, let flags): posix_spawn_file_actions_addopen(&actions, fd, path, flags, 0)
            case .duplicate(let fd, let target): posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .close(let fd): posix_spawn_file_actions_addclose(&actions, fd)
            case .closeFrom(let lowest): _ = secretsfs_spawn_close_from(&actions, lowest)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags: Int32 = 0
        // POSIX_SPAWN_SETSID (glibc 2.26) is hidden behind _GNU_SOURCE in the headers Swift sees.
        if newSession { flags |= 0x80 }
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        flags |= Int32(POSIX_SPAWN_SETSIGMASK)
        if let defaultSignals {
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for number in defaultSignals { sigaddset(&defaults, number) }
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            flags |= Int32(POSIX_SPAWN_SETSIGDEF)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var pid: pid_t = 0
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = Self.withPointers(&environmentBlock) { envp in
            searchesPath
                ? posix_spawnp(&pid, program, &actions, &attributes, &argv, envp)
                : posix_spawn(&pid, program, &actions, &attributes, &argv, envp)
        }
        guard status == 0 else { throw SpawnError(code: status) }
        return pid
    }

    private static func withPointers<R>(
        _ entries: inout [[UInt8]], _ body: ([UnsafeMutablePointer<CChar>?]) -> R
    ) -> R {
        let count = entries.count
        return entries.withUnsafeMutableBufferPointer { outer in
            var pointers: [UnsafeMutablePointer<CChar>?] = []
            pointers.reserveCapacity(count + 1)
            for index in 0..<count {
                pointers.append(
                    outer[index].withUnsafeMutableBufferPointer {
                        UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)
                    })
            }
            pointers.append(nil)
            return body(pointers)
        }
    }
}

/// Why `posix_spawn` refused: its errno.
public struct SpawnError: Error, Sendable {
    public let code: Int32
    public var reason: String { String(cString: strerror(code)) }
}

/// Waiting for a child, the one way each caller needs it; what it reports is read by `WaitStatus`.
public enum ChildExit {
    public enum Poll: Sendable {
        case ended(pid_t, WaitStatus)
        /// No child of that pid (or none at all, for -1) has ended yet.
        case running
        /// No such child to wait for.
        case noChild
    }

    /// Blocks the calling thread until `pid` ends.
    public static func wait(for pid: pid_t) -> WaitStatus {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        return WaitStatus(raw)
    }

    /// A child that has ended, reaped without blocking; `pid` -1 for any child.
    public static func poll(_ pid: pid_t = -1) -> Poll {
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped > 0 { return .ended(reaped, WaitStatus(raw)) }
        return reaped == 0 ? .running : .noChild
    }
}
