import Foundation
import Logging
import SecretsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How one run of an `on_change` action ended: the exit status of its program (nil for a signal, or
/// a program that could not start), and why it failed (nil when it did not).
struct ActionOutcome: Sendable, Equatable {
    var exitStatus: Int32?
    var failure: String?

    static let succeeded = ActionOutcome(exitStatus: nil, failure: nil)
}

/// Runs the program of an `exec` or `systemd_unit` action: argv as given (no shell), in its own
/// process group (so a timeout stops what it started too), stdin from /dev/null, every line of
/// stdout and stderr to the log with the action's number, stopped at its timeout.
struct ActionProgram {
    var argv: [String]
    var environment: [String: String]
    var timeout: Duration
    /// How long a program stopped at its timeout has between SIGTERM and SIGKILL.
    var grace: Duration = .seconds(5)
    var index: Int
    var clock: any TimeSource
    var logger: Logger

    func run() async -> ActionOutcome {
        let pipes: [[Int32]]
        do {
            pipes = try [Self.pipe(), Self.pipe()]
        } catch {
            logger.error("on_change action could not start", metadata: ["action": "\(index)", "error": "\(error)"])
            return ActionOutcome(exitStatus: nil, failure: "spawn")
        }
        let pid: pid_t
        do {
            pid = try spawn(stdout: pipes[0][1], stderr: pipes[1][1])
        } catch {
            for fd in pipes.joined() { close(fd) }
            logger.error(
                "on_change action could not start",
                metadata: ["action": "\(index)", "program": "\(argv[0])", "error": "\(error)"])
            return ActionOutcome(exitStatus: nil, failure: "spawn")
        }
        close(pipes[0][1])
        close(pipes[1][1])
        let output = [
            Self.forward(pipes[0][0], stream: "stdout", index: index, logger: logger),
            Self.forward(pipes[1][0], stream: "stderr", index: index, logger: logger),
        ]
        let exit = ExitWatch(pid)
        var status = try? await firstOf({ await exit.status() }, orAfter: timeout, on: clock) { nil }
        var failure: String?
        if status == nil {
            logger.error(
                "on_change action timed out: stopping it",
                metadata: ["action": "\(index)", "program": "\(argv[0])", "timeout": "\(timeout.seconds)s"])
            kill(-pid, SIGTERM)
            status = try? await firstOf({ await exit.status() }, orAfter: grace, on: clock) { nil }
            if status == nil {
                kill(-pid, SIGKILL)
                status = await exit.status()
            }
            failure = "timeout"
        }
        // A program that left something running with its output open (a daemon it started) is not
        // waited for: what that writes is still logged, the action is over.
        _ = try? await firstOf(
            {
                for thread in output { await thread.finished() }
                return true
            }, orAfter: grace, on: clock
        ) { false }
        let code = status.map(ProgramSpawn.exitStatus)
        if failure == nil, code != 0 { failure = "exit" }
        return ActionOutcome(exitStatus: code, failure: failure)
    }

    private func spawn(stdout: Int32, stderr: Int32) throws(SecretError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Never /dev/fuse or the supervisor's socket (inherited, so not close-on-exec): only the three
        // standard descriptors.
        for fd in Self.inheritable() { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The worker ignores SIGINT and SIGPIPE; a program it starts gets the usual dispositions back.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGPIPE, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let block = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let status = ProgramSpawn.withCStrings(argv) { argv in
            ProgramSpawn.withCStrings(block) { envp in
                posix_spawnp(&pid, self.argv[0], &actions, &attributes, argv, envp)
            }
        }
        guard status == 0 else { throw SecretError(.configuration, String(cString: strerror(status))) }
        return pid
    }

    private static func pipe() throws(SecretError) -> [Int32] {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw SecretError(.unavailable, String(cString: strerror(errno))) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fds
    }

    /// The descriptors above stderr a program would inherit: those without close-on-exec. One closed
    /// meanwhile is harmless: posix_spawn ignores a close of a descriptor that is not open.
    private static func inheritable() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap(Int32.init).filter {
            $0 > 2 && fcntl($0, F_GETFD) >= 0 && fcntl($0, F_GETFD) & FD_CLOEXEC == 0
        }
    }

    /// Reads `fd` to its end on a thread of its own, one log line per line of output.
    private static func forward(_ fd: Int32, stream: String, index: Int, logger: Logger) -> OutputThread {
        let done = OutputThread()
        Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            func emit(_ line: ArraySlice<UInt8>) {
                // A program that writes one endless line still gives bounded log lines.
                let text = String(decoding: line.prefix(Self.maxLine), as: UTF8.self)
                logger.info(
                    "on_change action output",
                    metadata: ["action": "\(index)", "stream": "\(stream)", "line": "\(text)"])
            }
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                pending.append(contentsOf: buffer[..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    emit(pending[..<newline])
                    pending.removeSubrange(...newline)
                }
                if pending.count > Self.maxLine {
                    emit(pending[...])
                    pending = []
                }
            }
            if !pending.isEmpty { emit(pending[...]) }
            close(fd)
            done.finish()
        }.start()
        return done
    }

    static let maxLine = 2000
}

/// Sends the signal of a `signal` action to the pid its file holds now.
struct ActionSignal {
    var number: Int32
    var pidFile: String
    var index: Int
    var logger: Logger

    func run() -> ActionOutcome {
        guard let data = FileManager.default.contents(atPath: pidFile) else {
            logger.error(
                "on_change action failed: cannot read its pid file",
                metadata: ["action": "\(index)", "pid_file": "\(pidFile)"])
            return ActionOutcome(exitStatus: nil, failure: "pid_file")
        }
        let text = String(decoding: data.prefix(64), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 1 else {
            logger.error(
                "on_change action failed: its pid file does not hold a process id",
                metadata: ["action": "\(index)", "pid_file": "\(pidFile)"])
            return ActionOutcome(exitStatus: nil, failure: "pid_file")
        }
        guard kill(pid, number) == 0 else {
            let reason = errno == ESRCH ? "no such process" : String(cString: strerror(errno))
            logger.error(
                "on_change action failed: cannot signal the process of its pid file",
                metadata: ["action": "\(index)", "pid_file": "\(pidFile)", "pid": "\(pid)", "error": "\(reason)"])
            return ActionOutcome(exitStatus: nil, failure: errno == ESRCH ? "no_process" : "signal")
        }
        return .succeeded
    }
}

/// The wait status of one child, found by a thread blocked in waitpid; awaited any number of times.
private final class ExitWatch: Sendable {
    private struct State {
        var raw: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }
    private let state = Mutex(State())

    init(_ pid: pid_t) {
        Thread { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            let waiters = state.withLock { state in
                state.raw = raw
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: raw) }
        }.start()
    }

    func status() async -> Int32 {
        await withCheckedContinuation { continuation in
            let raw = state.withLock { state -> Int32? in
                if state.raw == nil { state.waiters.append(continuation) }
                return state.raw
            }
            if let raw { continuation.resume(returning: raw) }
        }
    }
}

/// Becomes finished once its output thread has read everything.
private final class OutputThread: Sendable {
    private let state = Mutex((done: false, waiters: [CheckedContinuation<Void, Never>]()))

    func finish() {
        let waiters = state.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func finished() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if !state.done { state.waiters.append(continuation) }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}
