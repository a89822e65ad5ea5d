import CFUSE
import Foundation
import Logging
import SecretsCore
import SecretsFileSystem
import SecretsSupervision
import ServiceLifecycle
import Synchronization

/// How the kernel mount is made.
public struct MountOptions: Sendable {
    public var mountpoint: String
    public var allowOther: Bool
    /// Shown as the source in `mount` and `/proc/mounts`: `secretsfs:local`.
    public var fsName: String
    /// Further `-o` options passed to the kernel mount as given (from fstab, say).
    public var extraOptions: [String]
    /// How long the request loop may stay awake after a request; see `SessionLoop`.
    public var busyPoll: Duration
    /// How long a serving worker may leave the supervisor's PING unanswered before it is replaced;
    /// zero never.
    public var workerTimeout: Duration
    /// Whether a folder that holds files may be mounted over (`--nonempty`).
    public var nonEmpty: Bool

    public init(
        mountpoint: String, allowOther: Bool = false, fsName: String = "secretsfs", extraOptions: [String] = [],
        nonEmpty: Bool = false, busyPoll: Duration = .microseconds(200), workerTimeout: Duration = .seconds(5)
    ) {
        self.nonEmpty = nonEmpty
        self.mountpoint = mountpoint
        self.allowOther = allowOther
        self.fsName = fsName
        self.extraOptions = extraOptions
        self.busyPoll = busyPoll
        self.workerTimeout = workerTimeout
    }

    /// `default_permissions` is always on: the kernel enforces modes and owners.
    var kernelOptions: String {
        var options = ["default_permissions", "fsname=\(fsName)", "subtype=secretsfs"]
        if allowOther { options.append("allow_other") }
        options += extraOptions
        return options.joined(separator: ",")
    }
}

/// A worker's mount as a service: serves the /dev/fuse descriptor its supervisor mounted and handed
/// down, runs libfuse's loop on a thread of its own (never on Swift's cooperative pool), and on
/// graceful shutdown lets requests in flight finish; the unmounting is the supervisor's.
public final class FUSEMount: Service, Sendable {
    private let fileSystem: SecretsFileSystem
    private let options: MountOptions
    private let logger: Logger
    private let onReady: @Sendable () -> Void
    private let onKernelInit: @Sendable () -> Void
    private let clock: any TimeSource
    private let loopThread = Mutex<pthread_t?>(nil)
    private let loopFinished = Atomic<Bool>(false)
    private let session = Mutex<SessionPointer?>(nil)
    private let fuse: Int32
    /// An earlier worker already answered the kernel's INIT on `fuse`.
    private let takeover: Bool
    private let bridgeInUse = Mutex<Bridge?>(nil)
    /// The secrets `--prefetch` read, looked up through the mount once it serves (`KernelWarmup`).
    private let prefetched: [SecretPath]

    private struct SessionPointer: @unchecked Sendable { let raw: OpaquePointer }

    public init(
        fileSystem: SecretsFileSystem, options: MountOptions, logger: Logger, clock: any TimeSource, fuse: Int32,
        takeover: Bool, prefetched: [SecretPath] = [],
        onReady: @escaping @Sendable () -> Void = {},
        onKernelInit: @escaping @Sendable () -> Void = {}
    ) {
        self.onKernelInit = onKernelInit
        self.fileSystem = fileSystem
        self.options = options
        self.logger = logger
        self.clock = clock
        self.fuse = fuse
        self.takeover = takeover
        self.prefetched = prefetched
        self.onReady = onReady
    }

    public func run() async throws {
        let bridge = Bridge(fileSystem: fileSystem, logger: logger, onInit: onKernelInit)
        bridgeInUse.withLock { $0 = bridge }
        let userdata = Unmanaged.passRetained(bridge)
        defer { userdata.release() }

        var ops = Operations.table()
        let raw = try FUSESession.make(options, &ops, userdata: userdata.toOpaque(), attachment: .inherited(fd: fuse))
        defer { fuse_session_destroy(raw) }
        if takeover { KernelTakeover.resume(raw, logger: logger) }
        session.withLock { $0 = SessionPointer(raw: raw) }
        let notifier = KernelNotifier(session: raw)
        await fileSystem.attach(notifier)
        bridge.attach(notifier)
        let toucher = InotifyToucher(
            mountpoint: MountPoint.canonical(options.mountpoint), fileSystem: fileSystem, notifier: notifier,
            logger: logger)
        fileSystem.attach(announcer: toucher)
        _ = secretsfs_install_wake_handler()
        logger.info(
            "mounted", metadata: ["mountpoint": "\(options.mountpoint)", "backend": "\(fileSystem.backendName)"])
        onReady()
        let warmup = KernelWarmup()
        if !prefetched.isEmpty {
            Task { [fileSystem, prefetched, logger, mountpoint = MountPoint.canonical(options.mountpoint)] in
                warmup.start(
                    await fileSystem.prefetchedFiles(showing: prefetched), mountpoint: mountpoint,
                    fileSystem: fileSystem, notifier: notifier, logger: logger)
            }
        }

        await withGracefulShutdownHandler {
            await runLoop(raw, bridge: bridge)
        } onGracefulShutdown: {
            toucher.close()
            warmup.close()
            self.requestStop()
        }
        toucher.close()
        warmup.close()

        // Requests already taken from the kernel are answered before the mount goes away.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await bridge.inflight.waitUntilNone() }
            group.addTask { try? await self.clock.sleep(for: .seconds(10)) }
            await group.next()
            group.cancelAll()
        }
        notifier.close()
        // The unmounting is the supervisor's, which may start another worker in this one's place.
        session.withLock { $0 = nil }
    }

    private func runLoop(_ raw: OpaquePointer, bridge: Bridge) async {
        let pointer = SessionPointer(raw: raw)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in
                _ = secretsfs_unblock_wake_signal()
                // Named for `top -H`; a thread otherwise keeps the name of the one that made it.
                _ = secretsfs_name_this_thread("secretsfs-fuse")
                loopThread.withLock { $0 = pthread_self() }
                // Blocks until fuse_session_exit, or until the file system is unmounted from outside.
                let result = SessionLoop(
                    session: pointer.raw, spinLimit: options.busyPoll,
                    answeringElsewhere: { bridge.inflight.busy },
                    handled: { bridge.lastRequest.store($0, ordering: .relaxed) }
                ).run()
                if result != 0 { logger.error("FUSE loop ended with an error", metadata: ["errno": "\(-result)"]) }
                loopFinished.store(true, ordering: .relaxed)
                continuation.resume()
            }
            thread.start()
        }
    }

    /// Returns once no request is being answered and none came for `quiet`, or after `limit`: a
    /// mount being detached still answers the operations already inside it (a path half walked
    /// sends its next LOOKUP a moment after the last one is answered).
    public func waitUntilQuiet(quiet: Duration, limit: Duration) async {
        let deadline = clock.monotonicNow() + limit
        while clock.monotonicNow() < deadline {
            // Quiet is judged on the loop thread's own stamps: C code stamps them, not this clock.
            if let bridge = bridgeInUse.withLock({ $0 }), !bridge.inflight.busy,
                SessionLoop.now() - bridge.lastRequest.load(ordering: .relaxed) > quiet.nanoseconds
            {
                return
            }
            try? await clock.sleep(for: .milliseconds(20))
        }
    }

    /// Ends the loop: flag the session, then interrupt the loop thread's read of /dev/fuse.
    private func requestStop() {
        guard let raw = session.withLock({ $0 }) else { return }
        // A worker stopping is not the mount stopping: its supervisor says "stopping" when the mount
        // does, and a worker told to stop (SIGTERM, a replacement) said it a second time.
        logger.debug("stopping", metadata: ["mountpoint": "\(options.mountpoint)"])
        fuse_session_exit(raw.raw)
        Task.detached { [self] in
            // The signal may land before the loop thread enters read(2); repeat until it has ended.
            for _ in 0..<100 where !loopFinished.load(ordering: .relaxed) {
                if let thread = loopThread.withLock({ $0 }) { pthread_kill(thread, SIGUSR1) }
                try? await clock.sleep(for: .milliseconds(50))
            }
        }
    }
}
