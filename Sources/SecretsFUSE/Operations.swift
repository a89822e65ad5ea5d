import CFUSE
import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The low-level operations table. Each callback copies what it needs out of C memory (names and
/// `fuse_file_info` die when it returns), asks the file system's entry point for the operation,
/// and hands the answer to the bridge, which replies now or later.
enum Operations {
    static let setSize = Int32(1 << 3)
    /// What the kernel assumes of every file when a file system has no POLL: read and write never block.
    static let alwaysReady = UInt32(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
    /// mode, uid, gid: changes a read-only tree refuses even on `.rotate`.
    static let setOwnership = Int32((1 << 0) | (1 << 1) | (1 << 2))
    /// Everything but times (mode, uid, gid, size, clearing set-id bits): what an announcement never sets.
    /// Bits 0-3 and 11-12 of libfuse's `FUSE_SET_ATTR_*`.
    static let setContent: Int32 = 0x180f

    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            let bridge = userdata.map { Unmanaged<Bridge>.fromOpaque($0).takeUnretainedValue() }
            bridge?.onInit()
            guard let conn else { return }
            // libfuse asks for READDIRPLUS (adaptive: the kernel chooses per folder) since the op is
            // set; where it could give no attributes, plain READDIR answers the same in fewer bytes.
            if bridge?.fileSystem.listsWithAttributes == false {
                secretsfs_conn_unwant(conn, UInt32(FUSE_CAP_READDIRPLUS))
                secretsfs_conn_unwant(conn, UInt32(FUSE_CAP_READDIRPLUS_AUTO))
            }
            // The kernel drops cached pages when it sees a value's mtime or size change.
            secretsfs_conn_want(conn, UInt32(FUSE_CAP_AUTO_INVAL_DATA))
            secretsfs_conn_unwant(conn, UInt32(FUSE_CAP_ATOMIC_O_TRUNC))
        }
        ops.lookup = { req, parent, name in
            let name = String(cString: name!)
            let bridge = Bridge.from(req, .lookup)
            let answer = bridge.fileSystem.lookup(parent: UInt64(parent), name: name, context: Operations.context(req))
            bridge.replyEntry(req, answer)
        }
        ops.forget = { req, ino, lookups in
            // Inode numbers are kept for the life of the mount; only what the kernel holds changes.
            Bridge.from(req, .forget).fileSystem.forget(UInt64(ino), lookups: UInt64(lookups))
            FUSEReplier.send(Request(raw: req!), .none)
        }
        ops.getattr = { req, ino, _ in
            let bridge = Bridge.from(req, .getattr)
            bridge.reply(req, bridge.fileSystem.getattr(UInt64(ino), context: Operations.context(req))) {
                .attributes($0)
            }
        }
        ops.setattr = { req, ino, attr, toSet, _ in
            let size = (toSet & Operations.setSize) != 0 ? Int(attr!.pointee.st_size) : nil
            let other = (toSet & Operations.setOwnership) != 0
            let bridge = Bridge.from(req, .setattr)
            let context = Operations.context(req)
            let timesOnly = (toSet & Operations.setContent) == 0
            let answer = bridge.fileSystem.setattr(
                UInt64(ino), truncatingTo: size, otherChanges: other, timesOnly: timesOnly, context: context)
            bridge.reply(req, answer) { .attributes($0) }
        }
        ops.readlink = { req, ino in
            let bridge = Bridge.from(req, .readlink)
            bridge.reply(req, bridge.fileSystem.readlink(UInt64(ino))) { .link($0) }
        }
        ops.open = { req, ino, fi in
            let bridge = Bridge.from(req, .open)
            if bridge.fileSystem.opensStayInKernel {
                // The kernel stops sending OPEN (and RELEASE) for good: see `CachingMode.kernelOpens`.
                FUSEReplier.send(Request(raw: req!), .error(ENOSYS))
                return
            }
            let info = fi!.pointee
            let writing = (info.flags & O_ACCMODE) != O_RDONLY
            let context = Operations.context(req)
            let answer = bridge.fileSystem.open(UInt64(ino), writing: writing, context: context)
            bridge.reply(req, answer) { .open($0, info) }
        }
        ops.read = { req, ino, size, offset, fi in
            let bridge = Bridge.from(req, .read)
            let handle = fi?.pointee.fh ?? 0
            let nonBlocking = ((fi?.pointee.flags ?? 0) & O_NONBLOCK) != 0
            let answer = bridge.fileSystem.read(
                UInt64(ino), handle: handle, offset: Int(offset), size: size, nonBlocking: nonBlocking,
                context: Operations.context(req))
            bridge.reply(req, answer) { .bytes($0) }
        }
        ops.poll = { req, ino, fi, ph in
            let bridge = Bridge.from(req, .poll)
            let inode = UInt64(ino)
            let handle = fi?.pointee.fh ?? 0
            let notice: PollNotice? = ph.map { PollNotice($0) }
            var notify: (@Sendable () -> Void)?
            if let notice { notify = { notice.send() } }
            let ready: UInt32
            switch bridge.fileSystem.poll(inode, handle: handle, context: Operations.context(req), notify: notify) {
            case .always:
                notice?.discard()
                ready = Operations.alwaysReady
            case .readable:
                notice?.discard()
                ready = UInt32(POLLIN | POLLRDNORM)
            case .notYet:
                // Kept by a stream with nothing to read, until it has something.
                ready = 0
            }
            FUSEReplier.send(Request(raw: req!), .poll(ready))
        }
        ops.write = { req, ino, buf, size, _, fi in
            let data = [UInt8](UnsafeRawBufferPointer(start: buf, count: size))
            let bridge = Bridge.from(req, .write)
            let answer = bridge.fileSystem.write(
                UInt64(ino), handle: fi?.pointee.fh ?? 0, data: data, context: Operations.context(req))
            bridge.reply(req, answer) { .written($0) }
        }
        // ENOSYS once and the kernel stops sending these (on every close, for FLUSH); answered here
        // only so that `.metrics` counts every request.
        ops.flush = { req, _, _ in Operations.decline(req) }
        ops.fsync = { req, _, _, _ in Operations.decline(req) }
        ops.fsyncdir = { req, _, _, _ in Operations.decline(req) }
        ops.lseek = { req, _, _, _, _ in Operations.decline(req) }
        ops.access = { req, _, _ in Operations.decline(req) }
        ops.release = { req, _, fi in
            let bridge = Bridge.from(req, .release)
            bridge.reply(req, bridge.fileSystem.release(fi?.pointee.fh ?? 0)) { .ok }
        }
        ops.opendir = { req, ino, fi in
            let info = fi!.pointee
            let bridge = Bridge.from(req, .opendir)
            bridge.reply(req, bridge.fileSystem.opendir(UInt64(ino), context: Operations.context(req))) {
                .open($0, info)
            }
        }
        ops.readdir = { req, ino, size, offset, fi in
            let bridge = Bridge.from(req, .readdir)
            let answer = bridge.fileSystem.readdir(
                UInt64(ino), handle: fi?.pointee.fh ?? 0, offset: Int(offset), context: Operations.context(req))
            bridge.reply(req, answer) { .directory($0, maxSize: size) }
        }
        ops.readdirplus = { req, ino, size, offset, fi in
            let bridge = Bridge.from(req, .readdirplus)
            let answer = bridge.fileSystem.readdirplus(
                UInt64(ino), handle: fi?.pointee.fh ?? 0, offset: Int(offset), size: size,
                entrySize: FUSEReplier.plusEntrySize, context: Operations.context(req))
            bridge.reply(req, answer) { .directoryPlus($0, maxSize: size) }
        }
        ops.releasedir = { req, _, fi in
            let bridge = Bridge.from(req, .releasedir)
            bridge.reply(req, bridge.fileSystem.release(fi?.pointee.fh ?? 0)) { .ok }
        }
        ops.statfs = { req, _ in
            _ = Bridge.from(req, .statfs)
            FUSEReplier.send(Request(raw: req!), .statfs)
        }
        ops.mknod = { req, _, _, _, _ in Operations.refuse(req) }
        ops.mkdir = { req, _, _, _ in Operations.refuse(req) }
        ops.unlink = { req, _, _ in Operations.refuse(req) }
        ops.rmdir = { req, _, _ in Operations.refuse(req) }
        ops.symlink = { req, _, _, _ in Operations.refuse(req) }
        ops.rename = { req, _, _, _, _, _ in Operations.refuse(req) }
        ops.link = { req, _, _, _ in Operations.refuse(req) }
        ops.create = { req, _, _, _, _ in Operations.refuse(req) }
        ops.getxattr = { req, ino, name, size in
            let bridge = Bridge.from(req, .getxattr)
            let answer = bridge.fileSystem.getXattr(
                UInt64(ino), name: String(cString: name!), context: Operations.context(req))
            bridge.reply(req, answer) { Operations.xattrReply($0, size) }
        }
        ops.listxattr = { req, ino, size in
            let bridge = Bridge.from(req, .listxattr)
            bridge.reply(req, bridge.fileSystem.listXattrs(UInt64(ino), context: Operations.context(req))) { names in
                Operations.xattrReply(names.flatMap { Array($0.utf8) + [0] }, size)
            }
        }
        // Answered here, on the loop thread: no file is a terminal or takes a command. The kernel
        // forwards every ioctl but a few generic ones and remembers no refusal (fs/fuse/ioctl.c turns
        // ENOSYS into ENOTTY per call), so answering at once is the whole saving to be had.
        ops.ioctl = { req, _, _, _, _, _, _, _, _ in
            _ = Bridge.from(req, .ioctl)
            FUSEReplier.send(Request(raw: req!), .error(ENOTTY))
        }
        ops.setxattr = { req, _, _, _, _, _ in Operations.refuse(req) }
        ops.removexattr = { req, _, _ in Operations.refuse(req) }
        ops.fallocate = { req, _, _, _, _, _ in Operations.refuse(req) }
        return ops
    }

    /// Size 0 asks how big the answer is; a buffer too small for it is ERANGE.
    static func xattrReply(_ bytes: [UInt8], _ size: Int) -> Reply {
        if size == 0 { return .xattrSize(bytes.count) }
        if bytes.count > size { return .error(ERANGE) }
        return .xattrBytes(bytes)
    }

    private static func context(_ req: fuse_req_t?) -> RequestContext {
        Request(raw: req!).context
    }

    private static func decline(_ req: fuse_req_t?) {
        _ = Bridge.from(req, .declined)
        FUSEReplier.send(Request(raw: req!), .error(ENOSYS))
    }

    private static func refuse(_ req: fuse_req_t?) {
        let bridge = Bridge.from(req, .change)
        bridge.reply(req, bridge.fileSystem.refuseChange()) { .ok }
    }
}
