import CProcessGuard
import Dispatch
import Logging

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

/// What the supervisor holds for the life of the mount, handed to every worker: the mounted
/// /dev/fuse and the workers' shared memory (`WorkerChannel` names each).
public struct SupervisedMount: Sendable, Equatable {
    public var fuse: Int32
    public var inodes: Int32
    public var cache: Int32
    public var credentials: Int32
    public var leases: Int32
    /// Made by an earlier supervisor and kept by systemd: the kernel answered INIT long ago, to a
    /// worker of that supervisor, and the mount is only offered back to the keeper, never made here.
    public var adopted: Bool

    public init(fuse: Int32, inodes: Int32, cache: Int32, credentials: Int32, leases: Int32, adopted: Bool) {
        self.fuse = fuse
        self.inodes = inodes
        self.cache = cache
        self.credentials = credentials
        self.leases = leases
        self.adopted = adopted
    }

    /// In WorkerChannel's order: each worker gets them at fixed numbers.
    var all: [Int32] { [fuse, inodes, cache, credentials, leases] }
}

/// `secretsfs mount`'s first process, once the mount is made: keeps the /dev/fuse descriptor and a
/// worker serving it. It never reads a request, reaches a backend or maps memory that holds a value,
/// so there is little in it that can crash; when a worker dies the next one takes the same
/// descriptor and the kernel's queue, and readers see a pause instead of an error. It uses no
/// Foundation, so `secretsfs-supervise` runs it in a few MiB (docs/BENCHMARKS.md).
public final class Supervisor: @unchecked Sendable {
    /// A worker that keeps dying is a bug or a broken config, not bad luck: stop after this many
    /// deaths within `restartWindow`.
    public static let restartLimit = 5
    public static let restartWindow: Duration = .seconds(10)
    /// Variables that speak to the supervisor alone (systemd's, `--daemon`'s), never to a worker.
    public static let ownVariables = [
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "FDSTORE", DaemonReadiness.environmentKey,
    ]

    let mountpoint: String
    let workerTimeout: Duration
    let logger: Logger
    /// The heartbeat, the restart window and the drain's deadlines run on an injected clock.
    let elapsed: @Sendable () -> Duration
    let sleep: @Sendable (Duration) async throws -> Void
    let launch: @Sendable () -> WorkerLaunch
    let onReady: @Sendable () -> Void
    /// The mount failed: its one line and the status the supervisor will exit with.
    let onFailure: @Sendable (String, Int32) -> Void
    let adopted: Bool
    /// Hands descriptors to a keeper that outlives this process (systemd); true when it took them.
    let storeDescriptors: (@Sendable ([(String, Int32)]) -> Bool)?
    /// Tells the keeper to let go of what it holds: the mount will not be taken over.
    let releaseDescriptors: (@Sendable () -> Void)?
    /// The serving worker's one-line summary (backend, reads served, last error kind), when it changes.
    let onStatus: (@Sendable (String) -> Void)?
    let queue = DispatchQueue(label: "secretsfs.supervisor")

    // Everything below is touched on `queue` only.
    /// Set when a keeper holds the mount: a stop then retires the worker and leaves the mount to
    /// the next supervisor, so `systemctl restart` is invisible to readers.
    var keepMountOnStop = false
    /// The mount is this supervisor's to detach at the end (made for it, not gone already).
    var ownsMount: Bool
    var descriptors: SupervisedMount
    var current: Worker?
    var candidate: Worker?
    var deaths: [Duration] = []
    var generation: UInt32 = 0
    var restarts = 0
    var reloads = 0
    var kernelInitialized: Bool
    var stopping = false
    var everReady: Bool
    var toldReady = false
    var exitStatus: Int32 = 0
    var finished: CheckedContinuation<Int32, Never>?
    var signalSources: [any DispatchSourceSignal] = []
    var heartbeat: Task<Void, Never>?

    // Touched on the queue only, like the supervisor itself.
    final class Worker: @unchecked Sendable {
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

    /// `mount`'s descriptors are taken over: kept above the numbers a worker's get and closed on
    /// exec, so each worker gets its copies only through the spawn's file actions.
    public init<C: Clock<Duration>>(
        mount: SupervisedMount, mountpoint: String, workerTimeout: Duration, logger: Logger,
        clock: C = ContinuousClock(), launch: @escaping @Sendable () -> WorkerLaunch,
        onReady: @escaping @Sendable () -> Void, onFailure: @escaping @Sendable (String, Int32) -> Void,
        storeDescriptors: (@Sendable ([(String, Int32)]) -> Bool)? = nil,
        releaseDescriptors: (@Sendable () -> Void)? = nil, onStatus: (@Sendable (String) -> Void)? = nil
    ) {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
        descriptors = SupervisedMount(
            fuse: Self.keep(mount.fuse), inodes: Self.keep(mount.inodes), cache: Self.keep(mount.cache),
            credentials: Self.keep(mount.credentials), leases: Self.keep(mount.leases), adopted: mount.adopted)
        adopted = mount.adopted
        ownsMount = !mount.adopted
        kernelInitialized = mount.adopted
        everReady = mount.adopted
        // Kept again only if this supervisor speaks to systemd too; otherwise a stop unmounts.
        keepMountOnStop = mount.adopted && storeDescriptors != nil
        self.mountpoint = mountpoint
        self.workerTimeout = workerTimeout
        self.logger = logger
        self.launch = launch
        self.onReady = onReady
        self.onFailure = onFailure
        self.storeDescriptors = storeDescriptors
        self.releaseDescriptors = releaseDescriptors
        self.onStatus = onStatus
    }

    private static func keep(_ fd: Int32) -> Int32 {
        guard fd >= 0 else { return fd }
        let kept = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        if kept >= 0 { close(fd) }
        return kept
    }

    /// Supervises until the mount stops; returns the exit status.
    public func run() async -> Int32 {
        if adopted { logger.info("serving the mount systemd kept", metadata: ["mountpoint": "\(mountpoint)"]) }
        return await withCheckedContinuation { continuation in
            queue.async {
                self.finished = continuation
                self.installSignals()
                self.startHeartbeat()
                self.startWorker(reload: false)
            }
        }
    }

    // MARK: The descriptors

    /// The mounted descriptor, the workers' shared memory and the mountpoint they belong to.
    func offerToKeeper() {
        guard let storeDescriptors else { return }
        let record = secretsfs_memfd("secretsfs-mountpoint")
        defer { close(record) }
        let path = Array(MountPoint.canonical(mountpoint).utf8)
        _ = path.withUnsafeBytes { pwrite(record, $0.baseAddress, $0.count, 0) }
        keepMountOnStop = storeDescriptors([
            ("fuse", descriptors.fuse), ("inodes", descriptors.inodes), ("cache", descriptors.cache),
            ("mountpoint", record),
        ])
        // Apart, and not needed to keep the mount: a store of four (an older unit's FileDescriptorStoreMax=4) loses only the
        // leases, which the next supervisor's worker then makes anew.
        if keepMountOnStop { _ = storeDescriptors([("leases", descriptors.leases)]) }
    }

    /// Detaches the mount if it is still this supervisor's to detach.
    func detachMount() {
        guard ownsMount else { return }
        ownsMount = false
        _ = MountPoint.detach(MountPoint.canonical(mountpoint))
    }

    func unmount() {
        detachMount()
        // Whatever the workers left in shared memory goes with the descriptors.
        for fd in [descriptors.inodes, descriptors.cache, descriptors.credentials, descriptors.leases]
        where fd >= 0 {
            _ = ftruncate(fd, 0)
        }
        closeDescriptors()
        logger.log(level: everReady ? .info : .debug, "unmounted", metadata: ["mountpoint": "\(mountpoint)"])
    }

    func closeDescriptors() {
        for fd in descriptors.all where fd >= 0 { close(fd) }
        descriptors = SupervisedMount(fuse: -1, inodes: -1, cache: -1, credentials: -1, leases: -1, adopted: adopted)
    }
}
