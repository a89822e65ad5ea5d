import Dispatch
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Signals, and the ways the mount ends: stopped for good, or left to the next supervisor.
extension Supervisor {
    /// Runs `body` on the queue once `delay` of the supervisor's clock has passed.
    func after(_ delay: Duration, _ body: @escaping @Sendable () -> Void) {
        Task { [sleep, queue] in
            try? await sleep(delay)
            queue.async(execute: body)
        }
    }

    func workerFailed(reason: String) {
        if stopping { return }
        stop(status: 1, message: reason)
    }

    /// Ends the mount with `message` as its one line; the workers are told to stop first.
    func stop(status: Int32, message: String?) {
        if let message {
            logger.error("\(message)")
            onFailure(message, status)
        }
        exitStatus = status
        beginStopping()
    }

    func beginStopping() {
        guard !stopping else { return }
        stopping = true
        logger.log(level: everReady ? .info : .debug, "stopping", metadata: ["mountpoint": "\(mountpoint)"])
        // A mount detached from outside is a stop for good (the unit's ExecStop when no start
        // follows, an operator's `umount -l`): no supervisor will take it over, so the keeper lets
        // go of it rather than hand a next start a mount that is no longer there.
        let detached = !MountPoint.isFUSEMount(mountpoint)
        if detached {
            ownsMount = false
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
            // An adopted mount is this supervisor's to end too, now that no keeper will take it.
            if !detached { _ = MountPoint.detach(MountPoint.canonical(mountpoint)) }
            ownsMount = false
            for worker in [current, candidate].compactMap({ $0 }) { send(.stop, to: worker) }
        }
        // A worker that does not stop within the drain's time is killed; its readers were answered or lost.
        after(.seconds(15)) { [self] in
            for worker in [current, candidate].compactMap({ $0 }) { kill(worker.pid, SIGKILL) }
        }
        finishIfDone()
    }

    func finishIfDone() {
        guard stopping, current == nil, candidate == nil, let finished else { return }
        self.finished = nil
        heartbeat?.cancel()
        if keepMountOnStop {
            closeDescriptors()
            logger.info("left the mount to the next supervisor", metadata: ["mountpoint": "\(mountpoint)"])
        } else {
            unmount()
        }
        finished.resume(returning: exitStatus)
    }

    // MARK: Signals

    /// Dispatch sources, not `UnixSignalsSequence`: it has no SIGCHLD, and a reap must be ordered on
    /// the queue with the stop and reload signals.
    func installSignals() {
        // A worker that died with a line still to read must not take the supervisor with it.
        signal(SIGPIPE, SIG_IGN)
        let blocked = SupervisorSignals.blocked.load(ordering: .sequentiallyConsistent)
        for sig in SupervisorSignals.handled {
            // Where the main thread takes signals (a supervisor inside `secretsfs`, whose main is async),
            // a stop before the source is registered must not end the process at SIG_DFL.
            if sig != SIGCHLD, !blocked { signal(sig, SIG_IGN) }
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

/// A thread of its own for a loop that blocks (a worker's control socket), outside Dispatch's pool.
enum DetachedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, context)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Body>.fromOpaque(context).release()
            DispatchQueue.global().async(execute: body)
        }
    }
}
