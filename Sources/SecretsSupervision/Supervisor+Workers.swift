import CProcessGuard
import Dispatch
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Starting workers, hearing them, and deciding what follows when one ends.
extension Supervisor {
    func startWorker(reload: Bool) {
        let plan = launch()
        var channel = WorkerChannel()
        channel.generation = generation
        channel.restarts = restarts
        channel.reloads = reload ? reloads + 1 : reloads
        channel.supervisor = getpid()
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            workerFailed(reason: "cannot create a socket pair: \(String(cString: strerror(errno)))")
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
            workerFailed(reason: "cannot start a worker: \(error.reason)")
            return
        }
        close(pair[1])
        // In WorkerChannel's order (fuse, inodes, cache, credentials, leases); a worker that does not get
        // them fails at its first use of one, and says so.
        let handed = descriptors.all
        if secretsfs_send_descriptors(pair[0], handed, Int32(handed.count)) != 0 {
            logger.error(
                "cannot hand the worker its descriptors", metadata: ["error": "\(String(cString: strerror(errno)))"])
        }
        let worker = Worker(pid: pid, control: pair[0], generation: generation, startedAt: elapsed())
        generation += 1
        if reload { candidate = worker } else { current = worker }
        // Until a worker serves, a failure's own line is the only one a user should see.
        logger.log(
            level: everReady ? .info : .debug, "worker started",
            metadata: ["pid": "\(pid)", "generation": "\(worker.generation)"])
        listen(to: worker)
    }

    /// Reads the worker's lines on a thread of their own; each is handled on the queue.
    func listen(to worker: Worker) {
        let control = worker.control
        DetachedThread.start { [self] in
            while let line = WorkerChannel.readLine(from: control) {
                let report = WorkerReport(line: line)
                queue.async { self.received(report, from: worker) }
            }
            queue.async {
                worker.channelClosed = true
                self.finishExit(of: worker)
            }
        }
    }

    func send(_ order: SupervisorOrder, to worker: Worker) {
        if order.endsTheWorker { worker.leaving = true }
        WorkerChannel.writeLine(order.line, to: worker.control)
    }

    // MARK: Hung workers

    /// A worker that stops answering (stopped, deadlocked, its tasks stuck) is found by its silence:
    /// the serving worker is sent PING a few times per timeout and must answer within it; one that
    /// does not is killed, and the next takes the descriptor and resends what it held, as after a
    /// crash (DESIGN §6).
    func startHeartbeat() {
        let timeout = workerTimeout
        let every = timeout > .zero ? min(timeout / 4, .seconds(1)) : .seconds(1)
        heartbeat = Task { [self] in
            while (try? await sleep(every)) != nil {
                queue.async {
                    // A SIGCHLD can be lost where the main thread does not block it (a supervisor inside
                    // `secretsfs`, whose async main parks that thread in `dispatch_main`): taken there at
                    // SIG_DFL before the source is registered, it is discarded (SupervisorSignals).
                    self.reap()
                    if timeout > .zero { self.beat(timeout: timeout) }
                }
            }
        }
    }

    private func beat(timeout: Duration) {
        guard !stopping, let worker = current, worker.serving, !worker.leaving else { return }
        let silent = elapsed() - worker.lastHeard
        if silent > timeout {
            let tenths = silent / .milliseconds(100)
            logger.error(
                "the worker did not answer for \(Int(tenths) / 10).\(Int(tenths) % 10)s; killing it and starting another",
                metadata: ["pid": "\(worker.pid)"])
            // Not counted as a crash: the restart limit is for workers that die as they start.
            worker.hung = true
            kill(worker.pid, SIGKILL)
            return
        }
        send(.ping, to: worker)
    }

    /// `report` is nil for a line this build does not know: it still shows the worker is alive.
    func received(_ report: WorkerReport?, from worker: Worker) {
        worker.lastHeard = elapsed()
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
                if !adopted { offerToKeeper() }
            }
        case .error(let message)?:
            worker.lastError = message
        case .status(let summary)?:
            if worker === current, !stopping { onStatus?(summary) }
        case .pong?, nil:
            break
        }
    }

    func serve(_ worker: Worker) {
        send(.serve(takeover: kernelInitialized), to: worker)
    }

    /// Reaps every worker that has exited and decides what follows.
    func reap() {
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

    func finishExit(of worker: Worker) {
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
        if !MountPoint.isFUSEMount(mountpoint) {
            // Unmounted from outside (`secretsfs unmount`, `fusermount3 -u`): the worker's loop ended.
            ownsMount = false
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
        let now = elapsed()
        deaths = deaths.filter { now - $0 < Self.restartWindow } + (worker.hung ? [] : [now])
        if deaths.count >= Self.restartLimit {
            stop(
                status: 1,
                message:
                    "the worker died \(deaths.count) times within \(Self.restartWindow.components.seconds)s (last: \(how)); stopping the mount"
            )
            return
        }
        restarts += 1
        startWorker(reload: false)
    }
}
