import CFUSE
import CProcessGuard
import SecretsCore
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// The mount a supervisor supervises: made here, with libfuse, before the supervisor (which
/// links no libfuse) takes its descriptors; or handed back by systemd's descriptor store.
public enum KernelMount {
    /// Mounts `options.mountpoint` and makes the workers' shared memory. libfuse's session is
    /// destroyed again at once (that closes its copy of the descriptor, and does not unmount).
    public static func mount(_ options: MountOptions) throws(SecretError) -> SupervisedMount {
        try MountPoint.prepare(options.mountpoint, nonEmpty: options.nonEmpty)
        var ops = fuse_lowlevel_ops()
        let raw = try FUSESession.make(options, &ops, userdata: nil, attachment: .mountpoint(options.mountpoint))
        let fuse = fcntl(fuse_session_fd(raw), F_DUPFD_CLOEXEC, 10)
        fuse_session_destroy(raw)
        return SupervisedMount(
            fuse: fuse, inodes: memfd("secretsfs-inodes"), cache: memfd("secretsfs-cache"),
            credentials: memfd("secretsfs-credentials"), leases: memfd("secretsfs-leases"), adopted: false)
    }

    /// A mount systemd kept: its descriptors, with fresh credentials (never stored) and, when the
    /// keeper held none (a mount made by an older version), a new lease journal.
    public static func adopt(fuse: Int32, inodes: Int32, cache: Int32, leases: Int32?) -> SupervisedMount {
        SupervisedMount(
            fuse: fuse, inodes: inodes, cache: cache, credentials: memfd("secretsfs-credentials"),
            leases: leases ?? memfd("secretsfs-leases"), adopted: true)
    }

    private static func memfd(_ name: String) -> Int32 {
        let fd = secretsfs_memfd(name)
        let kept = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        if kept >= 0, fd >= 0 { close(fd) }
        return kept
    }

    /// Writes the credentials the supervisor took out of its environment for each worker to read:
    /// NAME=VALUE, NUL-separated; the copy made here is zeroed.
    public static func writeCredentials(_ credentials: [String: String], to fd: Int32) {
        var text: [UInt8] = []
        for (name, value) in credentials.sorted(by: { $0.key < $1.key }) {
            text += Array("\(name)=\(value)".utf8) + [0]
        }
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        text.withUnsafeMutableBytes { SecretValue.zero($0) }
    }

    /// Makes `mount`'s descriptors survive an exec: the supervisor program takes them over.
    public static func inheritAcrossExec(_ mount: SupervisedMount) {
        for fd in [mount.fuse, mount.inodes, mount.cache, mount.credentials, mount.leases] where fd >= 0 {
            _ = fcntl(fd, F_SETFD, 0)
        }
    }
}
