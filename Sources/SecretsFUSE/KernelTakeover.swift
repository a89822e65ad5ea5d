import CFUSE
import Logging
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// A worker serving a connection another worker served before it: the kernel will not send INIT
/// again, and may hold requests the dead worker read but never answered.
enum KernelTakeover {
    /// What the kernel offered at INIT, as far as this libfuse knows the flags; libfuse uses them
    /// only to decide what it may ask for, and the kernel keeps what the first worker agreed.
    static let initFlags: UInt32 = [0, 3, 4, 5, 6, 12, 13, 14, 15, 18, 22].reduce(0) { $0 | (1 << $1) }
    /// The newest protocol minor this libfuse (3.14) speaks.
    static let protocolMinor: UInt32 = 38

    private static let resendRefusal = LogOnce()

    static func resume(_ session: OpaquePointer, logger: Logger) {
        secretsfs_feed_init(session, protocolMinor, initFlags)
        let failure = secretsfs_notify_resend(fuse_session_fd(session))
        if failure == 0 { return }
        // Linux before 6.9: requests the dead worker held are lost; their readers got EIO or waited.
        if resendRefusal.first("resend") {
            logger.warning(
                "the kernel cannot resend requests a dead worker held (FUSE_NOTIFY_RESEND needs Linux 6.9)",
                metadata: ["errno": "\(failure)"])
        }
    }
}
