import Dispatch
import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsSupervision
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The program `secretsfs exec` runs: started with the secrets in its environment block (built in
/// memory secretsfs zeroes after the spawn), sent the signals secretsfs gets, restarted on request,
/// and waited for; its exit status becomes secretsfs's.
final class ChildProgram: Sendable {
    private let command: [String]
    private let environment: [String: String]
    private let logger: Logger
    private let clock: any TimeSource
    private struct State {
        var pid: pid_t = 0
        var restarting = false
    }
    private let state = Mutex(State())
    private let exited = DispatchSemaphore(value: 0)

    static let withheld = ProgramSpawn.withheld

    init(command: [String], environment: [String: String], clock: any TimeSource, logger: Logger) {
        self.clock = clock
        self.command = command
        self.environment = environment
        self.logger = logger
    }

    var isRunning: Bool { state.withLock { $0.pid > 0 && !$0.restarting } }

    func start(with values: [String: SecretValue]) throws {
        var block: [[UInt8]] = []
        // The backend's own credentials stay with secretsfs: the program gets the secrets it was given.
        for (name, value) in environment where values[name] == nil && !Self.withheld.contains(name) {
            block.append(Array("\(name)=\(value)".utf8) + [0])
        }
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            var entry = Array("\(name)=".utf8)
            value.withUnsafeBytes { entry.append(contentsOf: $0) }
            entry.append(0)
            block.append(entry)
        }
        defer { for index in block.indices { block[index].zeroize() } }
        var spawn = ChildSpawn(program: command[0], arguments: command, searchesPath: true)
        spawn.fileActions = [ProgramSpawn.closeAboveStandard]
        let pid: pid_t
        do {
            pid = try spawn.start(environmentBlock: &block)
        } catch {
            throw ProgramStartError(program: command[0], errno: error.code)
        }
        let spawned = pid
        state.withLock { $0.pid = spawned }
        let waiter = Thread { [self] in self.reap(spawned) }
        waiter.start()
    }

    /// Blocks its own thread in waitpid; a child ended for a restart is started again by `restart`.
    private func reap(_ pid: pid_t) {
        let ended = ChildExit.wait(for: pid)
        let restarting = state.withLock { state -> Bool in
            if state.pid == pid { state.pid = 0 }
            return state.restarting
        }
        if restarting { return }
        let code = ended.shellStatus
        state.withLock { $0.pid = -code - 1 }
        exited.signal()
    }

    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.exited.wait()
                let pid = self.state.withLock { $0.pid }
                continuation.resume(returning: -(pid + 1))
            }
        }
    }

    func signal(_ number: Int32) {
        let pid = state.withLock { $0.pid }
        if pid > 0 { kill(pid, number) }
    }

    /// SIGTERM, up to 10 s for it to end (then SIGKILL), and the program again with `values`.
    func restart(with values: [String: SecretValue]) async {
        let pid = state.withLock { state -> pid_t in
            state.restarting = true
            return state.pid
        }
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        let deadline = clock.monotonicNow() + .seconds(10)
        while state.withLock({ $0.pid }) == pid {
            if clock.monotonicNow() > deadline { kill(pid, SIGKILL) }
            try? await clock.sleep(for: .milliseconds(20))
        }
        state.withLock { $0.restarting = false }
        do {
            try start(with: values)
        } catch {
            logger.error("could not start the program again", metadata: ["error": "\(SecretError.from(error).message)"])
            state.withLock { $0.pid = -2 }
            exited.signal()
        }
    }

    /// The signals a supervisor (systemd, a shell, a container runtime) sends go on to the program;
    /// returns once they are trapped, and forwards them for the life of the process.
    func forwardSignals() async {
        let forwarded: [UnixSignal] = [.sigterm, .sigint, .sighup, .sigquit, .sigusr1, .sigusr2]
        // Not secretsfs's to act on: without this their default action would end it first.
        for signal in forwarded { Glibc.signal(signal.rawValue, SIG_IGN) }
        let signals = await UnixSignalsSequence(trapping: forwarded)
        Task { [self] in
            for await signal in signals { self.signal(signal.rawValue) }
        }
    }
}
