import Foundation
import Logging
import SecretsBackendKit
import SecretsCore
import SecretsFUSE
import SecretsFileSystem
import SecretsSupervision
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension MountCommand {
    /// The worker: connects to the backend, takes over what earlier workers left (node numbers,
    /// cached answers), says PREPARED, and serves the inherited /dev/fuse once told to.
    func serve(as channel: WorkerChannel, environment inherited: [String: String]) async throws {
        // Ctrl-C reaches the whole process group; the supervisor decides and tells the worker.
        signal(SIGINT, SIG_IGN)
        // A supervisor gone is not a reason to die: its socket's EPIPE is an error, not a signal.
        signal(SIGPIPE, SIG_IGN)
        let logger = bootstrapLogging(backend, defaultLevel: .info)
        if mlock { try ProcessHardening.lockMemory() }
        var environment = inherited
        environment[WorkerChannel.environmentKey] = nil
        for (name, value) in channel.takeCredentials() { environment[name] = value }
        let config = try backend.config.map { path throws(SecretError) in try ConfigFile.load(path) }
        let policyRules = try config?.policy()
        let rendered = try config?.renderedFiles() ?? .none
        let certificates = try config?.certificates() ?? []
        try ConfigFile.checkCertificates(certificates, against: rendered)
        let leases = try config?.leases() ?? []
        try ConfigFile.checkLeases(leases, against: rendered, certificates: certificates)
        var permissions = try config?.permissionRules() ?? .none
        // A lease's own owner and mode win, as a rendered file's do.
        permissions.rules.insert(contentsOf: leases.flatMap(\.ownership), at: 0)
        let actions = try config?.changeActions() ?? []
        let tally = actions.isEmpty ? nil : ChangeActionTally(kinds: actions.map(\.effect.kind))
        let audit = try auditLog.map { try FileAuditSink(path: $0, owner: auditOwner) }
        let sealedFile = try CacheFileService.configured(
            file: cacheFile, keyFile: cacheKeyFile, environment: environment)
        // Only the first worker reads the file: a replacing one takes over its predecessor's cache.
        var fromFile: [(CacheKey, MirroredEntry)] = []
        var fileProblem: String?
        if let sealedFile, channel.generation == 0 {
            do throws(SecretError) {
                fromFile = try sealedFile.load()
            } catch {
                fileProblem = error.message
                logger.warning(
                    "the cache file is not used; the mount starts with an empty cache",
                    metadata: ["error": "\(error.message)"])
            }
        }

        let clock = EventLoopTimeSource()
        var factory = StoreFactory(options: backend, environment: environment, logger: logger)
        // With answers from the cache file, an unreachable backend is not fatal either.
        factory.replacingWorker = channel.generation > 0 || !fromFile.isEmpty
        factory.clock = clock
        factory.certificates = certificates
        factory.leases = leases.map(\.request)
        let connected = try await factory.connect()
        let upstream = connected.store
        var cachePolicy = CachePolicy(
            ttl: cacheTTL.duration, maxStale: maxStale.duration, negativeTTL: negativeTTL.duration,
            maxEntries: cacheMaxEntries, refreshJitter: refreshJitter.fraction)
        if let timeout = backend.backendTimeout?.duration { cachePolicy.backendTimeout = timeout }
        let cache = CachingSecretStore(upstream: upstream, policy: cachePolicy, clock: clock, logger: logger)
        if let sealedFile {
            let restored = await cache.restore(fromFile)
            fromFile.removeAll()
            await cache.recordCacheFile(
                {
                    $0.restored = restored
                    $0.problem = fileProblem
                }, path: sealedFile.path)
            if restored > 0 {
                logger.notice(
                    "answers restored from the cache file; past their TTL they are served only while the backend fails, within --max-stale",
                    metadata: ["restored": "\(restored)", "file": "\(sealedFile.path)"])
            }
        }
        var options = FileSystemOptions(
            uid: uid ?? getuid(), gid: gid ?? getgid(),
            fileMode: fileMode?.mode ?? 0o400, dirMode: dirMode?.mode ?? 0o500,
            directIO: directIO, kernelCacheTimeout: cacheTTL.duration.seconds,
            generator: PasswordGenerator(length: rotationLength),
            policy: policyRules, audit: audit)
        options.showVersions = showVersions
        options.events = events
        options.rendered = rendered
        options.permissions = permissions
        options.certificates = CertificateFolders(connected.certificates)
        options.leases = LeaseFolders(connected.leases)
        options.actions = tally
        if options.caching != .kernelOpens, options.checksEveryOpen || options.events, channel.kernelKeepsOpens {
            throw SecretError.reloadNeedsNewMount
        }

        // Before PREPARED, so before READY=1 and the daemon-mode parent's exit: the first read of
        // each match is a hit. A replacing worker takes the cache over from its predecessor instead.
        let prefetcher = Prefetch(patterns: prefetch)
        var prefetched: [SecretPath] = []
        if !prefetcher.isEmpty, channel.generation == 0 {
            if cachePolicy.ttl > .zero {
                prefetched = await prefetcher.run(into: cache, clock: clock, logger: logger).read
            } else {
                logger.warning("--prefetch does nothing with --cache-ttl 0: nothing is kept")
            }
        }
        var freshness = FreshnessService(
            cache: cache, prefetch: prefetcher, interval: refreshInterval?.duration, clock: clock, logger: logger)

        // Ready to serve: the backend answered (or may be unreachable, for a replacing worker).
        channel.tell(.prepared)
        guard case .serve(let takeover)? = await Self.nextOrder(from: channel) else {
            // Told to stop before serving (a reload that was called off, or the mount stopping).
            await cache.shutdown()
            return
        }
        // Taken over only now: until SERVE, the worker being replaced still numbered nodes and
        // cached answers.
        let mirror = channel.cacheMirror()
        if let mirror { await cache.restore(mirror.restored) }
        let leaseFolders = connected.leases?.leaseFolders ?? []
        let fileMirror = sealedFile.map { _ in CacheFileMirror(inner: mirror?.mirror, leaving: leaseFolders) }
        if let target: any CacheMirror = fileMirror ?? mirror?.mirror { await cache.mirror(to: target) }
        var fileService: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let sealedFile, let fileMirror {
            let service = CacheFileService(
                file: sealedFile, mirror: fileMirror, cache: cache, clock: clock, logger: logger)
            fileService = [.init(service: service, successTerminationBehavior: .ignore)]
        }
        // Before the renewal service starts and the first read: a lease an earlier worker made is kept.
        let heldLeases = connected.leases
        if let heldLeases, let journal = channel.leaseJournal() { await heldLeases.attach(journal) }
        let fileSystem = SecretsFileSystem(
            store: cache, options: options, clock: clock, logger: logger,
            continuity: channel.inodeContinuity(pid: getpid(), startedAt: Date()))
        if fileSystem.opensStayInKernel { channel.noteKernelKeepsOpens() }
        let mount = FUSEMount(
            fileSystem: fileSystem,
            options: mountOptions(backendName: upstream.descriptor.backend),
            logger: logger,
            clock: clock,
            fuse: channel.fuse, takeover: takeover, prefetched: prefetched,
            onReady: { channel.tell(.ready) },
            onKernelInit: { channel.tell(.kernelInitialized) })
        // A backend's service that makes a value anew does it through the cache, so the new one replaces what
        // the cache holds and its change events are raised; the store makes it itself (a certificate, a
        // credential), so the generated value is not used.
        let hooks = CacheHooks(
            replace: { path in _ = try await cache.rotate(RotationRequest(path: path) { SecretValue(bytes: [UInt8]()) })
            },
            invalidate: { path in await cache.invalidate(path) })
        let background = connected.services(hooks).map {
            ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .ignore)
        }
        let runner = tally.map {
            ChangeActionRunner(
                actions: actions, cache: cache, fileSystem: fileSystem, rendered: rendered, tally: $0,
                environment: ProgramSpawn.passedOn(environment), clock: clock, logger: logger)
        }
        if let watch = runner?.watch { freshness.watches.append(watch) }
        let actionServices =
            runner.map {
                [ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .ignore)]
            } ?? []
        let group = ServiceGroup(
            configuration: .init(
                // Stopped in reverse order: the mount drains first, then the refreshes, token renewal
                // and credential refresh stop (a draining mount still reads with a renewed token).
                services: fileService + [
                    .init(service: freshness, successTerminationBehavior: .ignore)
                ] + background + actionServices + [
                    .init(service: mount, successTerminationBehavior: .gracefullyShutdownGroup)
                ],
                gracefulShutdownSignals: [.sigterm],
                logger: logger))
        let stopping = StopOrder()
        Self.listenForOrders(
            channel, mount: mount, group: group, stopping: stopping,
            retiring: { if let heldLeases { await heldLeases.handOver() } },
            status: { await fileSystem.serviceStatus() })
        defer { audit?.flush() }
        try await group.run()
        // The mount itself stops: what this worker left for a successor is zeroed now.
        if stopping.wipe.withLock({ $0 }) { mirror?.mirror.wipe() }
        // The mount stops (not a worker handing over to the next): its leases go with it.
        if !stopping.retire.withLock({ $0 }), let heldLeases { await heldLeases.revokeAll() }
        await cache.shutdown()
    }

    func mountOptions(backendName: String) -> MountOptions {
        MountOptions(
            mountpoint: mountpoint, allowOther: allowOther, fsName: "secretsfs:\(backendName)",
            extraOptions: kernelOptionList.filter { $0 != "nonempty" }, nonEmpty: allowsNonEmpty,
            busyPoll: .microseconds(busyPoll), workerTimeout: workerTimeout.duration)
    }

    /// How long a stopping mount goes on answering operations that were already inside it.
    static let drainTime: Duration = .seconds(10)

    private static func nextOrder(from channel: WorkerChannel) async -> SupervisorOrder? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: channel.listen()) }.start()
        }
    }

    /// RETIRE (another worker takes over) and STOP (the mount stops) both end the loop after the
    /// requests in hand are answered; without a supervisor (it was killed) the worker serves on.
    private static func listenForOrders(
        _ channel: WorkerChannel, mount: FUSEMount, group: ServiceGroup, stopping: StopOrder,
        retiring: @escaping @Sendable () async -> Void, status: @escaping @Sendable () async -> String
    ) {
        Thread {
            while let order = channel.listen() {
                switch order {
                case .ping:
                    // Answered from the executor every backend call and late answer runs on, not from
                    // this thread: a worker whose tasks are stuck (or that is stopped) stays silent.
                    // The summary for systemd rides along, only when it changed.
                    Task {
                        channel.tell(.pong)
                        let summary = await status()
                        if stopping.lastStatus.withLock({ last in
                            defer { last = summary }
                            return last != summary
                        }) {
                            channel.tell(.status(summary))
                        }
                    }
                    continue
                case .retire:
                    stopping.retire.withLock { $0 = true }
                    Task {
                        await retiring()
                        await group.triggerGracefulShutdown()
                    }
                case .stop:
                    // The supervisor has detached the mount: serve what is already inside it until
                    // it goes quiet (or the kernel lets go of it, which ends the loop by itself).
                    stopping.wipe.withLock { $0 = true }
                    Task {
                        await mount.waitUntilQuiet(quiet: .milliseconds(300), limit: Self.drainTime)
                        await group.triggerGracefulShutdown()
                    }
                case .serve:
                    continue
                }
                return
            }
        }.start()
    }
}

extension SecretError {
    static let reloadNeedsNewMount = SecretError(
        .configuration,
        "reload refused, the running worker keeps serving: this mount was made without a policy, audit log or "
            + "events, so the kernel opens its files without asking; adding one needs a new mount (unmount, then mount)"
    )
}

private final class StopOrder: Sendable {
    let wipe = Mutex(false)
    /// RETIRE: another worker takes the mount, and the leases, over.
    let retire = Mutex(false)
    /// The last summary told to the supervisor.
    let lastStatus = Mutex("")
}
