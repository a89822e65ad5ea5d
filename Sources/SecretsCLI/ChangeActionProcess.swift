import CProcessGuard
import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsSupervision
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
        let code = status.map(\.shellStatus)
        if failure == nil, code != 0 { failure = "exit" }
        return ActionOutcome(exitStatus: code, failure: failure)
    }

    private func spawn(stdout: Int32, stderr: Int32) throws(SecretError) -> pid_t {
        var spawn = ChildSpawn(program: argv[0], arguments: argv, searchesPath: true)
        spawn.fileActions = [
            .open(0, path: "/dev/null", flags: O_RDONLY), .duplicate(stdout, as: 1), .duplicate(stderr, as: 2),
            ProgramSpawn.closeAboveStandard,
        ]
        spawn.ownProcessGroup = true
        // The worker ignores SIGINT and SIGPIPE; a program it starts gets the usual dispositions back.
        spawn.defaultSignals = [SIGINT, SIGPIPE, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
        do {
            return try spawn.start(environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        } catch {
            throw SecretError(.configuration, error.reason)
        }
    }

    private static func pipe() throws(SecretError) -> [Int32] {
        var fds: [Int32] = [0, 0]
        guard Glibc.pipe(&fds) == 0 else { throw SecretError(.unavailable, String(cString: strerror(errno))) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fds
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

/// Sends the signal of a `signal` action to the pid its file holds now, under systemd's `PIDFile=`
/// rule: the file must be trusted (TrustedFile: root's or the mounting user's, not writable by
/// others, in folders only they can write), and its owner must be one who could signal that process
/// itself. Otherwise anyone who can write a pid file could aim the daemon's signal at any process.
struct ActionSignal {
    var number: Int32
    var pidFile: String
    var index: Int
    var logger: Logger

    func run() -> ActionOutcome {
        let data: [UInt8]
        let owner: uid_t
        do {
            (data, owner) = try TrustedFile.readWithOwner(pidFile, what: "pid file", limit: 64)
        } catch {
            let refused = error.message.hasPrefix("refusing")
            logger.error(
                refused
                    ? "on_change action refused: its pid file is not trusted"
                    : "on_change action failed: cannot read its pid file",
                metadata: ["action": "\(index)", "pid_file": "\(pidFile)", "error": "\(error.message)"])
            return ActionOutcome(exitStatus: nil, failure: "pid_file")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 1 else {
            logger.error(
                "on_change action failed: its pid file does not hold a process id",
                metadata: ["action": "\(index)", "pid_file": "\(pidFile)"])
            return ActionOutcome(exitStatus: nil, failure: "pid_file")
        }
        // The process is held by a pidfd from here on: the one judged is the one signalled, even if
        // it ends and its pid is reused meanwhile.
        let process = secretsfs_pidfd_open(pid)
        guard process >= 0 else { return failed(pid, errno) }
        defer { close(process) }
        guard owner == 0 || Self.uids(of: pid).contains(owner) else {
            logger.error(
                "on_change action refused: the pid file's owner could not signal that process",
                metadata: [
                    "action": "\(index)", "pid_file": "\(pidFile)", "pid": "\(pid)", "pid_file_owner": "\(owner)",
                ])
            return ActionOutcome(exitStatus: nil, failure: "pid_file")
        }
        guard secretsfs_pidfd_send_signal(process, number) == 0 else { return failed(pid, errno) }
        return .succeeded
    }

    private func failed(_ pid: Int32, _ code: Int32) -> ActionOutcome {
        let reason = code == ESRCH ? "no such process" : String(cString: strerror(code))
        logger.error(
            "on_change action failed: cannot signal the process of its pid file",
            metadata: ["action": "\(index)", "pid_file": "\(pidFile)", "pid": "\(pid)", "error": "\(reason)"])
        return ActionOutcome(exitStatus: nil, failure: code == ESRCH ? "no_process" : "signal")
    }

    /// The real and saved uid of a process: those kill(2) lets a user of that uid signal.
    static func uids(of pid: Int32) -> [uid_t] {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
        else { return [] }
        let ids = line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap { uid_t($0) }
        return ids.count >= 3 ? [ids[0], ids[2]] : []
    }
}

/// The wait status of one child, found by a thread blocked in waitpid; awaited any number of times.
private final class ExitWatch: Sendable {
    private struct State {
        var ended: WaitStatus?
        var waiters: [CheckedContinuation<WaitStatus, Never>] = []
    }
    private let state = Mutex(State())

    init(_ pid: pid_t) {
        Thread { [self] in
            let ended = ChildExit.wait(for: pid)
            let waiters = state.withLock { state in
                state.ended = ended
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: ended) }
        }.start()
    }

    func status() async -> WaitStatus {
        await withCheckedContinuation { continuation in
            let ended = state.withLock { state -> WaitStatus? in
                if state.ended == nil { state.waiters.append(continuation) }
                return state.ended
            }
            if let ended { continuation.resume(returning: ended) }
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
