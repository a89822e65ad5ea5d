import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The supervisor as a process: its worker's environment and what it says to systemd and to a
/// waiting `mount --daemon`. The same in `secretsfs-supervise` and in a `secretsfs` that has no
/// `secretsfs-supervise` beside it.
public enum SupervisorProcess {
    /// The program's name, looked for beside the `secretsfs` binary.
    public static let programName = "secretsfs-supervise"

    /// Supervises `plan`'s mount until it stops; returns the status to exit with. `afterReady` runs
    /// once, when the mount first serves.
    public static func run(
        _ plan: SupervisePlan, logger: Logger, afterReady: @escaping @Sendable () -> Void = {}
    ) async -> Int32 {
        let environment = ProcessEnvironment.current()
        var workerEnvironment = environment
        for name in Supervisor.ownVariables { workerEnvironment[name] = nil }
        let worker = WorkerLaunch(
            executable: plan.worker, arguments: plan.workerArguments, environment: workerEnvironment)
        var keeper: (@Sendable ([(String, Int32)]) -> Bool)?
        var release: (@Sendable () -> Void)?
        // systemd 254 and later set FDSTORE to FileDescriptorStoreMax; the unit file sets it for older
        // ones. Without it systemd would drop the descriptors and a stop would leave a dead mount.
        if environment["NOTIFY_SOCKET"] != nil, let room = environment["FDSTORE"].flatMap(Int.init), room >= 4 {
            keeper = { descriptors in
                descriptors.allSatisfy { SystemdFDStore.store($0.1, name: $0.0, environment: environment) }
            }
            release = { SystemdFDStore.remove(SystemdFDStore.mountNames, environment: environment) }
        }
        let supervisor = Supervisor(
            mount: plan.mount, mountpoint: plan.mountpoint, workerTimeout: plan.workerTimeout, logger: logger,
            launch: { worker },
            onReady: {
                SystemdNotifier.notify("READY=1\nSTATUS=serving", environment: environment)
                DaemonReadiness.reportReady()
                afterReady()
            },
            onFailure: { DaemonReadiness.reportFailure($0, status: $1) },
            storeDescriptors: keeper, releaseDescriptors: release,
            onStatus: { SystemdNotifier.notify("STATUS=\($0)", environment: environment) })
        let status = await supervisor.run()
        SystemdNotifier.notify("STOPPING=1", environment: environment)
        return status
    }
}
