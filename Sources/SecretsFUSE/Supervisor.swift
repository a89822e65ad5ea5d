import CFUSE
import CProcessGuard
import Dispatch
import Foundation
import Logging
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// How to start a worker: the binary now on disk, its arguments, and an environment without secrets.
public struct WorkerLaunch: Sendable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]

    public init(executable: String, arguments: [String], environment: [String: String]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

/// A mount a previous supervisor made, handed back by systemd's file descriptor store.
public struct AdoptedMount: Sendable {
    public var fuse: Int32
    public var inodes: Int32
    public var cache: Int32
    /// -1 when the keeper held none (a mount made by an older version): a new journal is made.
    public var leases: Int32

    public init(fuse: Int32, inodes: Int32, cache: Int32, leases: Int32 = -1) {
        self.fuse = fuse
        self.inodes = inodes
        self.cache = cache
        self.leases = leases
    }
}

/// `secretsfs mount`'s first process: mounts, keeps the /dev/fuse descriptor, and keeps a worker
/// serving it. It never reads a request, reaches a backend or maps memory that holds a value, so
/// there is little in it that can crash; when a worker dies the next one takes the same
/// descriptor and the kernel's queue, and readers see a pause instead of an error.
public final class Supervisor: @unchecked Sendable {
    /// A worker that keeps dying is a bug or a broken config, not bad luck: stop after this many
    /// deaths within `restartWindow`.
    public static let restartLimit = 5
    public static let restartWindow: Duration = .seconds(10)

    private let options: MountOptions
    private let logger: Logger
    /// The heartbeat, the restart window and the drain's deadlines.
    private let clock: any TimeSource
    private let launch: @Sendable () -> WorkerLaunch
    private let credentials: [String: String]
    private let onReady: @Sendable () -> Void
    /// The mount failed: its one line and the status the supervisor will exit with.
    private let onFailure: @Sendable (String, Int32) -> Void
    private let adopted: AdoptedMount?
    /// Hands descriptors to a keeper that outlives this process (systemd); true when it took them.
    private let storeDescriptors: (@Sendable ([(String, Int32)]) -> Bool)?
    /// Tells the keeper to let go of what it holds: the mount will not be taken over.
    private let releaseDescriptors: (@Sendable () -> Void)?
    /// The serving worker's one-line summary (backend, reads served, last error kind), when it changes.
    private let onStatus: (@Sendable (String) -> Void)?
    /// Set when a keeper holds the mount: a stop then retires the worker and leaves the mount to
    /// the next supervisor, so `systemctl restart` is invisible to readers.
    private var keepMountOnStop = false
    private let queue = DispatchQueue(label: "secretsfs.supervisor")

    // Everything below is touched on `queue` only.
    private var session: OpaquePointer?
    private var fuseFD: Int32 = -1
    private var inodesFD: Int32 = -1
    private var cacheFD: Int32 = -1
    private var credentialsFD: Int32 = -1
    private var leasesFD: Int32 = -1
    private var current: Worker?
    private var candidate: Worker?
    private var deaths: [Duration] = []
    private var generation: UInt32 = 0
    private var restarts = 0
    private var reloads = 0
    private var kernelInitialized = false
    private var stopping = false
    private var everReady = false
    private var toldReady = false
    private var exitStatus: Int32 = 0
    private var finished: CheckedContinuation<Int32, Never>?
    private var signalSources: [DispatchSourceSignal] = []
    private var heartbeat: Task<Void, Never>?

    // Touched on the queue only, like the supervisor itself.
    private final class Worker: @unchecked Sendable {
        let pid: pid_t
        let control: Int32
        let generation: UInt32
        var prepared = false
        var serving = false
        /// Told to RETIRE or STOP: it finishes what it holds and answers no PING.
        var leaving = false
        /// When it last said anything on its control socket (a PONG, most often), on the supervisor's clock.
        var lastHeard: Duration
        /// Killed for not answering.
        var hung = false
        var lastError: String?
        /// Its control socket reached end of file: every line it said has been handled.
        var channelClosed = false
        /// Set when reaped; acted on once its last lines are in (or a moment later).
        var waitStatus: WaitStatus?
        var reaped = false
        init(pid: pid_t, control: Int32, generation: UInt32, startedAt: Duration) {
            self.lastHeard = startedAt
            self.pid = pid
            self.control = control
            self.generation = generation
        }
    }

    public init(
        options: MountOptions, logger: Logger, clock: any TimeSource = SystemTimeSource(),
        credentials: [String: String],
        launch: @escaping @Sendable () -> WorkerLaunch,
        onReady: @escaping @Sendable () -> Void, onFailure: @escaping @Sendable (String, Int32) -> Void,
        adopted: AdoptedMount? = nil, storeDescriptors: (@Sendable ([(String, Int32)]) -> Bool)? = nil,
        releaseDescriptors: (@Sendable () -> Void)? = nil, onStatus: (@Sendable (String) -> Void)? = nil
    ) {
        self.adopted = adopted
        self.storeDescriptors = storeDescriptors
        self.releaseDescriptors = releaseDescriptors
        self.onStatus = onStatus
        self.options = options
        self.logger = logger
        self.clock = clock
        self.credentials = credentials
        self.launch = launch
        self.onReady = onReady
        self.onFailure = onFailure
    }

    /// Mounts and supervises until the mount stops; returns the exit status.
    public func run() async throws -> Int32 {
        if let adopted {
            adopt(adopted)
        } else {
            try MountPoint.prepare(options.mountpoint, nonEmpty: options.nonEmpty)
            try mount()
        }
        return await withCheckedContinuation { continuation in
            queue.async {
                self.finished = continuation
                self.installSignals()
                self.startHeartbeat()
                self.startWorker(reload: false)
            }
        }
    }

    // MARK: Mounting

    private func mount() throws(SecretError) {
        var ops = fuse_lowlevel_ops()
        let raw = try FUSESession.make(options, &ops, userdata: nil, attachment: .mountpoint(options.mountpoint))
        session = raw
        // Kept above the numbers a worker's descriptors get, and closed on exec: each worker gets
        // its copies at fixed numbers through the spawn's file actions.
        fuseFD = fcntl(fuse_session_fd(raw), F_DUPFD_CLOEXEC, 10)
        inodesFD = Self.memfd("secretsfs-inodes")
        cacheFD = Self.memfd("secretsfs-cache")
        credentialsFD = Self.memfd("secretsfs-credentials")
        leasesFD = Self.memfd("secretsfs-leases")
        writeCredentials()
        // "mounted" is the worker's to say, once it serves.
        logger.debug(
            "kernel mount made", metadata: ["mountpoint": "\(options.mountpoint)", "supervisor": "\(getpid())"])
    }

    private func adopt(_ mount: AdoptedMount) {
        fuseFD = fcntl(mount.fuse, F_DUPFD_CLOEXEC, 10).closingOriginal(mount.fuse)
        inodesFD = fcntl(mount.inodes, F_DUPFD_CLOEXEC, 10).closingOriginal(mount.inodes)
        cacheFD = fcntl(mount.cache, F_DUPFD_CLOEXEC, 10).closingOriginal(mount.cache)
        credentialsFD = Self.memfd("secretsfs-credentials")
        leasesFD = mount.leases >= 0 ? fcntl(mount.leases, F_DUPFD_CLOEXEC, 10).closingOriginal(mount.leases) : -1
        if leasesFD < 0 { leasesFD = Self.memfd("secretsfs-leases") }
        writeCredentials()
        // The kernel answered INIT long ago, to a worker of the supervisor before this one.
        kernelInitialized = true
        everReady = true
        // Kept again only if this supervisor speaks to systemd too; otherwise a stop unmounts.
        keepMountOnStop = storeDescriptors != nil
        logger.info("serving the mount systemd kept", metadata: ["mountpoint": "\(options.mountpoint)"])
    }

    /// The mounted descriptor, the workers' shared memory and the mountpoint they belong to.
    private func offerToKeeper() {
        guard let storeDescriptors else { return }
        let record = Self.memfd("secretsfs-mountpoint")
        defer { close(record) }
        let path = Array(MountPoint.canonical(options.mountpoint).utf8)
        _ = path.withUnsafeBytes { pwrite(record, $0.baseAddress, $0.count, 0) }
        keepMountOnStop = storeDescriptors([
            ("fuse", fuseFD), ("inodes", inodesFD), ("cache", cacheFD), ("mountpoint", record),
        ])
        // Apart, and not needed to keep the mount: a store of four (an older unit's FileDescriptorStoreMax=4) loses only the
        // leases, which the next supervisor's worker then makes anew.
        if keepMountOnStop { _ = storeDescriptors([("leases", leasesFD)]) }
    }

    private static func memfd(_ name: String) -> Int32 {
        let fd = secretsfs_memfd(name)
        return fcntl(fd, F_DUPFD_CLOEXEC, 10).closingOriginal(fd)
    }

    private func writeCredentials() {
        var text: [UInt8] = []
        for (name, value) in credentials.sorted(by: { $0.key < $1.key }) {
            text += Array("\(name)=\(value)".utf8) + [0]
        }
        _ = text.withUnsafeBytes { pwrite(credentialsFD, $0.baseAddress, $0.count, 0) }
        text.withUnsafeMutableBytes { SecretValue.zero($0) }
    }

    private func unmount() {
        if let raw = session {
            fuse_session_unmount(raw)
            fuse_session_destroy(raw)
            session = nil
        }
        // Whatever the workers left in shared memory goes with the descriptors.
        for fd in [inodesFD, cacheFD, credentialsFD, leasesFD, fuseFD] where fd >= 0 {
            _ = ftruncate(fd, 0)
            close(fd)
        }
        inodesFD = -1
        cacheFD = -1
        credentialsFD = -1
        leasesFD = -1
        fuseFD = -1
        logger.log(level: everReady ? .info : .debug, "unmounted", metadata: ["mountpoint": "\(options.mountpoint)"])
    }

    // MARK: Workers

    private func startWorker(reload: Bool) {
        let plan = launch()
        var channel = WorkerChannel()
        channel.generation = generation
        channel.restarts = restarts
        channel.reloads = reload ? reloads + 1 : reloads
        channel.supervisor = getpid()
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            workerFailed(nil, reason: "cannot create a socket pair: \(String(cString: strerror(errno)))")
            return
        }
        var spawn = ChildSpawn(program: plan.executable, arguments: [plan.executable] + plan.arguments)
        // Only the control socket is inherited: the rest reach the worker over it once its guard has
        // made it non-dumpable (CProcessGuard), never open to /proc/PID/fd/N readers after execve.
        spawn.fileActions =
            [.duplicate(pair[1], as: channel.control)] + (3..<channel.control).map { .close($0) }
            + [.closeFrom(channel.control + 1)]
        var environment = plan.environment
        environment[WorkerChannel.environmentKey] = channel.encoded
        let pid: pid_t
        do {
            pid = try spawn.start(environment: environment.map { "\($0.key)=\($0.value)" })
        } catch {
            close(pair[1])
            close(pair[0])
            workerFailed(nil, reason: "cannot start a worker: \(error.reason)")
            return
        }
        close(pair[1])
        // In WorkerChannel's order (fuse, inodes, cache, credentials, leases); a worker that does not get
        // them fails at its first use of one, and says so.
        let handed = [fuseFD, inodesFD, cacheFD, credentialsFD, leasesFD]
        if secretsfs_send_descriptors(pair[0], handed, Int32(handed.count)) != 0 {
            logger.error(
                "cannot hand the worker its descriptors", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
        let worker = Worker(pid: pid, control: pair[0], generation: generation, startedAt: clock.monotonicNow())
        generation += 1
        if reload { candidate = worker } else { current = worker }
        // Until a worker serves, a failure's own line is the only one a user should see.
        logger.log(
            level: everReady ? .info : .debug, "worker started",
            metadata: ["pid": "\(pid)", "generation": "\(worker.generation)"])
        listen(to: worker)
    }

    /// Reads the worker's lines on a thread of their own; each is handled on the queue.
    private func listen(to worker: Worker) {
        let control = worker.control
        let thread = Thread { [self] in
            while let line = WorkerChannel.readLine(from: control) {
                let report = WorkerReport(line: line)
                queue.async { self.received(report, from: worker) }
            }
            queue.async {
                worker.channelClosed = true
                self.finishExit(of: worker)
            }
        }
        thread.start()
    }

    private func send(_ order: SupervisorOrder, to worker: Worker) {
        if order.endsTheWorker { worker.leaving = true }
        WorkerChannel.writeLine(order.line, to: worker.control)
    }

    // MARK: Hung workers

    /// A worker that stops answering (stopped, deadlocked, its tasks stuck) is found by its silence:
    /// the serving worker is sent PING a few times per timeout and must answer within it; one that
    /// does not is killed, and the next takes the descriptor and resends what it held, as after a
    /// crash (DESIGN §6).
    private func startHeartbeat() {
        let timeout = options.workerTimeout
        guard timeout > .zero else { return }
        let every = min(timeout / 4, .seconds(1))
        heartbeat = Task { [self] in
            while (try? await clock.sleep(for: every)) != nil {
                queue.async { self.beat(timeout: timeout) }
            }
        }
    }

    /// Runs `body` on the queue once `delay` of the supervisor's clock has passed.
    private func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) {
        Task { [clock, queue] in
            try? await clock.sleep(for: delay)
            queue.async(execute: body)
        }
    }

    private func beat(timeout: Duration) {
        guard !stopping, let worker = current, worker.serving, !worker.leaving else { return }
        let silent = clock.monotonicNow() - worker.lastHeard
        if silent > timeout {
            logger.error(
                "the worker did not answer for \(String(format: "%.1f", silent.seconds))s; killing it and starting another",
                metadata: ["pid": "\(worker.pid)"])
            // Not counted as a crash: the restart limit is for workers that die as they start.
            worker.hung = true
            kill(worker.pid, SIGKILL)
            return
        }
        send(.ping, to: worker)
    }

    /// `report` is nil for a line this build does not know: it still shows the worker is alive.
    private func received(_ report: WorkerReport?, from worker: Worker) {
        worker.lastHeard = clock.monotonicNow()
        switch report {
        case .prepared?:
            worker.prepared = true
            if worker === current {
                serve(worker)
            } else if worker === candidate, let old = current {
                // The new worker is ready to take over: the old one finishes what it holds, then goes.
                send(.retire, to: old)
            }
        case .kernelInitialized?:
            kernelInitialized = true
        case .ready?:
            worker.serving = true
            // Said once per supervisor, an adopted one too: systemd waits for READY=1 from each
            // process it starts, a restart's included.
            if !toldReady {
                toldReady = true
                everReady = true
                onReady()
                // After READY=1, which systemd waits for first.
                if adopted == nil { offerToKeeper() }
            }
        case .error(let message)?:
            worker.lastError = message
        case .status(let summary)?:
            if worker === current, !stopping { onStatus?(summary) }
        case .pong?, nil:
            break
        }
    }

    private func serve(_ worker: Worker) {
        send(.serve(takeover: kernelInitialized), to: worker)
    }

    /// Reaps every worker that has exited and decides what follows.
    private func reap() {
        while case .ended(let pid, let status) = ChildExit.poll() {
            let worker = [current, candidate].compactMap { $0 }.first { $0.pid == pid }
            guard let worker else { continue }
            // A worker's ERROR line may still be on its way when SIGCHLD comes: acted on once its
            // socket is drained, so the line (and not "exited with status N") is the mount's error.
            // A descriptor some grandchild kept open must not hold it forever.
            worker.waitStatus = status
            finishExit(of: worker)
            after(.seconds(2)) { [self] in
                worker.channelClosed = true
                finishExit(of: worker)
            }
        }
    }

    private func finishExit(of worker: Worker) {
        guard !worker.reaped, worker.channelClosed, let status = worker.waitStatus else { return }
        worker.reaped = true
        close(worker.control)
        exited(worker, status: status)
    }

    private func exited(_ worker: Worker, status: WaitStatus) {
        let how = status.description
        if worker === candidate {
            candidate = nil
            if !worker.prepared {
                logger.error(
                    "reload refused: the new worker did not start; the running one keeps serving",
                    metadata: ["reason": "\(worker.lastError ?? how)"])
            }
            finishIfDone()
            return
        }
        guard worker === current else { return }
        current = nil
        if stopping {
            finishIfDone()
            return
        }
        if let next = candidate, next.prepared {
            // A reload: the old worker has retired.
            current = next
            candidate = nil
            reloads += 1
            serve(next)
            return
        }
        if !MountPoint.isFUSEMount(options.mountpoint) {
            // Unmounted from outside (`secretsfs unmount`, `fusermount3 -u`): the worker's loop ended.
            session.map { fuse_session_destroy($0) }
            session = nil
            stop(status: 0, message: nil)
            return
        }
        if !everReady {
            // The first worker never served: its error is the mount's.
            // A worker that failed printed its one line to the same stderr; it is not said twice.
            onFailure(
                worker.lastError ?? "the worker \(how) before the mount was ready", status.failureStatus)
            if worker.lastError == nil { logger.error("the worker \(how) before the mount was ready") }
            stop(status: status.failureStatus, message: nil)
            return
        }
        if !worker.hung { logger.error("worker \(how); starting another", metadata: ["pid": "\(worker.pid)"]) }
        let now = clock.monotonicNow()
        deaths = deaths.filter { now - $0 < Self.restartWindow } + (worker.hung ? [] : [now])
        if deaths.count >= Self.restartLimit {
            stop(
                status: 1,
                message:
                    "the worker died \(deaths.count) times within \(Self.restartWindow.seconds)s (last: \(how)); stopping the mount"
            )
            return
        }
        restarts += 1
        startWorker(reload: false)
    }

    private func workerFailed(_ worker: Worker?, reason: String) {
        if stopping { return }
        stop(status: 1, message: reason)
    }

    /// Ends the mount with `message` as its one line; the workers are told to stop first.
    private func stop(status: Int32, message: String?) {
        if let message {
            logger.error("\(message)")
            onFailure(message, status)
        }
        exitStatus = status
        beginStopping()
    }

    private func beginStopping() {
        guard !stopping else { return }
        stopping = true
        logger.log(level: everReady ? .info : .debug, "stopping", metadata: ["mountpoint": "\(options.mountpoint)"])
        // A mount detached from outside is a stop for good (the unit's ExecStop when no start
        // follows, an operator's `umount -l`): no supervisor will take it over, so the keeper lets
        // go of it rather than hand a next start a mount that is no longer there.
        let detached = !MountPoint.isFUSEMount(options.mountpoint)
        if detached {
            session.map { fuse_session_destroy($0) }
            session = nil
            if keepMountOnStop {
                keepMountOnStop = false
                releaseDescriptors?()
            }
        }
        // Detached first: no new path reaches the mount, while every operation already inside it
        // (a path half walked, a file open) is still answered by the worker, which ends when the
        // kernel lets go of the mount or its drain time is up.
        if keepMountOnStop {
            // systemd holds the mount for the next supervisor: the worker finishes what it holds and
            // leaves the rest in the kernel's queue, as in a reload.
            for worker in [current, candidate].compactMap({ $0 }) { send(.retire, to: worker) }
        } else {
            if let raw = session {
                fuse_session_unmount(raw)
                fuse_session_destroy(raw)
                session = nil
            } else if adopted != nil, !detached {
                try? MountPoint.clearDeadMount(MountPoint.canonical(options.mountpoint))
            }
            for worker in [current, candidate].compactMap({ $0 }) { send(.stop, to: worker) }
        }
        // A worker that does not stop within the drain's time is killed; its readers were answered or lost.
        after(.seconds(15)) { [self] in
            for worker in [current, candidate].compactMap({ $0 }) { kill(worker.pid, SIGKILL) }
        }
        finishIfDone()
    }

    private func finishIfDone() {
        guard stopping, current == nil, candidate == nil, let finished else { return }
        self.finished = nil
        heartbeat?.cancel()
        if keepMountOnStop {
            for fd in [inodesFD, cacheFD, credentialsFD, leasesFD, fuseFD] where fd >= 0 { close(fd) }
            logger.info("left the mount to the next supervisor", metadata: ["mountpoint": "\(options.mountpoint)"])
        } else {
            unmount()
        }
        finished.resume(returning: exitStatus)
    }

    // MARK: Signals

    /// Dispatch sources, not `UnixSignalsSequence`: it has no SIGCHLD, and a reap must be ordered on
    /// the queue with the stop and reload signals.
    private func installSignals() {
        // A worker that died with a line still to read must not take the supervisor with it.
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] {
            if sig != SIGCHLD { signal(sig, SIG_IGN) }
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [self] in handle(sig) }
            source.resume()
            signalSources.append(source)
        }
        // A SIGCHLD that came before the source existed.
        reap()
    }

    private func handle(_ sig: Int32) {
        switch sig {
        case SIGCHLD:
            reap()
        case SIGHUP:
            guard !stopping, candidate == nil, current?.serving == true else { return }
            logger.info("reloading: starting a worker from the binary and config on disk")
            startWorker(reload: true)
        default:
            beginStopping()
        }
    }

}

extension Int32 {
    fileprivate func closingOriginal(_ original: Int32) -> Int32 {
        if self >= 0, original >= 0 { close(original) }
        return self
    }
}
