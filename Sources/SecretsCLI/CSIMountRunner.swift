import ArgumentParser
import Foundation
import Logging
import SecretsCSI
import SecretsCore
import SecretsFUSE
import SecretsSupervision

/// `secretsfs csi --run-mounts`: who runs each volume's `secretsfs mount`.
enum CSIRunMounts: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// systemd when the node's systemd answers, else child.
    case auto
    /// A transient unit of the node's systemd: outlives the plugin's container (restart, upgrade).
    case systemd
    /// A daemon of the plugin in a session of its own: outlives the plugin process, not its container.
    case child
}

/// Where the plugin's volumes' mounts run, as `--run-mounts` chose it at start.
enum CSIMountRunner: Sendable {
    case child
    case systemd(CSISystemdUnits)

    /// `auto` falls back to child with a warning; `systemd` without a systemd is refused.
    static func resolve(_ choice: CSIRunMounts, stateFolder: String, logger: Logger) throws(SecretError) -> Self {
        if choice == .child { return .child }
        switch CSISystemdUnits.connect(stateFolder: stateFolder) {
        case .success(let units):
            logger.info("volumes run as units of the node's systemd", metadata: ["binary": "\(units.binary)"])
            return .systemd(units)
        case .failure(let error) where choice == .auto:
            logger.warning(
                "volumes run as the plugin's own daemons: they outlive the plugin process, not its container",
                metadata: ["reason": "\(error.message)"])
            return .child
        case .failure(let error):
            throw SecretError(error.code, "--run-mounts systemd: \(error.message)")
        }
    }

    /// Starts `secretsfs mount MOUNTPOINT …` and returns once it serves, or with its failure.
    func start(_ arguments: [String], logFile: String, environment: [String: String]? = nil) async -> DaemonVerdict {
        await Self.onThread {
            switch self {
            case .child:
                DaemonReadiness.spawnAndWait(arguments: arguments, logFile: logFile, environment: environment)
            case .systemd(let units):
                units.start(arguments: arguments, logFile: logFile, environment: environment)
            }
        }
    }

    /// Unmounts `mountpoint` (its supervisor then ends, and its unit with it), then makes sure no
    /// unit is left for it; a mount an earlier plugin ran the other way goes the same way.
    func stop(_ mountpoint: String) async throws(CSIError) {
        if MountPoint.mountType(at: MountPoint.canonical(mountpoint)) != nil {
            do { try MountPoint.unmount(mountpoint) } catch { throw CSIError(error) }
        }
        if case .systemd(let units) = self { await Self.onThread { units.stop(mountpoint: mountpoint) } }
    }

    /// Blocking work (a spawned process's pipe, systemctl) on a thread of its own, not an event loop's.
    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: work()) }
        }
    }
}
