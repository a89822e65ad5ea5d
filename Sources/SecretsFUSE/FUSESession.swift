import CFUSE
import SecretsCore

/// The one way a libfuse session is made: from the mount's kernel options, then attached to the
/// kernel, either by mounting the folder (the supervisor) or by taking a /dev/fuse descriptor the
/// supervisor mounted (a worker).
enum FUSESession {
    enum Attachment {
        case mountpoint(String)
        /// libfuse serves a descriptor named /dev/fd/N instead of mounting.
        case inherited(fd: Int32)
    }

    /// A session attached to the kernel; destroyed again when attaching fails.
    static func make(
        _ options: MountOptions, _ ops: inout fuse_lowlevel_ops, userdata: UnsafeMutableRawPointer?,
        attachment: Attachment
    ) throws(SecretError) -> OpaquePointer {
        let raw = try LibfuseLog.newSession(["secretsfs", "-o", options.kernelOptions], &ops, userdata: userdata)
        do throws(SecretError) {
            switch attachment {
            case .mountpoint(let path):
                try LibfuseLog.mount(raw, at: path)
            case .inherited(let fd):
                guard fuse_session_mount(raw, "/dev/fd/\(fd)") == 0 else {
                    throw SecretError(.configuration, "the inherited /dev/fuse descriptor \(fd) is not usable")
                }
            }
        } catch {
            fuse_session_destroy(raw)
            throw error
        }
        return raw
    }
}
