import CFUSE
import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The low-level operations table. Each callback copies what it needs out of C memory (names and
/// `fuse_file_info` die when it returns), then hands the work to the bridge.
enum Operations {
    static let setSize = Int32(1 << 3)
    /// mode, uid, gid: changes a read-only tree refuses even on `.rotate`.
    static let setOwnership = Int32((1 << 0) | (1 << 1) | (1 << 2))

    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            if let userdata { Unmanaged<Bridge>.fromOpaque(userdata).takeUnretainedValue().onInit() }
            guard let conn else { return }
            // The kernel drops cached pages when it sees a value's mtime or size change.
            secretsfs_conn_want(conn, UInt32(FUSE_CAP_AUTO_INVAL_DATA))
            secretsfs_conn_unwant(conn, UInt32(FUSE_CAP_ATOMIC_O_TRUNC))
        }
        ops.lookup = { req, parent, name in
            let name = String(cString: name!)
            let context = Request(raw: req!).context
            Bridge.from(req).spawn(req) {
                .entry(try await $0.lookup(parent: UInt64(parent), name: name, context: context))
            }
        }
        ops.forget = { req, _, nlookup in
            // Inode numbers are kept for the life of the mount, so there is nothing to drop.
            FUSEReplier.send(Request(raw: req!), .none(nlookup: nlookup))
        }
        ops.getattr = { req, ino, _ in
            let bridge = Bridge.from(req)
            if let reply = bridge.fileSystem.getattrIfHot(UInt64(ino)) {
                FUSEReplier.send(Request(raw: req!), .attributes(reply))
                return
            }
            let context = Request(raw: req!).context
            bridge.spawn(req) { .attributes(try await $0.getattr(UInt64(ino), context: context)) }
        }
        ops.setattr = { req, ino, attr, toSet, _ in
            let size = (toSet & Operations.setSize) != 0 ? Int(attr!.pointee.st_size) : nil
            let other = (toSet & Operations.setOwnership) != 0
            Bridge.from(req).spawn(req) {
                .attributes(try await $0.setattr(UInt64(ino), truncatingTo: size, otherChanges: other))
            }
        }
        ops.readlink = { req, ino in
            Bridge.from(req).spawn(req) { .link(try await $0.readlink(UInt64(ino))) }
        }
        ops.open = { req, ino, fi in
            let bridge = Bridge.from(req)
            if bridge.fileSystem.opensStayInKernel {
                // The kernel stops sending OPEN (and RELEASE) for good: see SecretsFileSystem.
                FUSEReplier.send(Request(raw: req!), .error(ENOSYS))
                return
            }
            let info = fi!.pointee
            let writing = (info.flags & O_ACCMODE) != O_RDONLY
            let context = Request(raw: req!).context
            if let result = bridge.fileSystem.openIfHot(UInt64(ino), writing: writing, context: context) {
                bridge.answer(req) { _ in .open(try result.get(), info) }
                return
            }
            bridge.spawn(req) {
                .open(try await $0.open(UInt64(ino), writing: writing, context: context), info)
            }
        }
        ops.read = { req, ino, size, offset, fi in
            let handle = fi?.pointee.fh ?? 0
            let bridge = Bridge.from(req)
            // A pinned or just-fetched value is in memory: answer on the loop thread, no task, no hop.
            let bytes =
                handle != 0
                ? bridge.fileSystem.readPinned(handle: handle, offset: Int(offset), size: size)
                : bridge.fileSystem.readIfHot(UInt64(ino), offset: Int(offset), size: size)
            if let bytes {
                FUSEReplier.send(Request(raw: req!), .bytes(bytes))
                return
            }
            let context = Request(raw: req!).context
            bridge.spawn(req) {
                .bytes(
                    try await $0.read(UInt64(ino), handle: handle, offset: Int(offset), size: size, context: context))
            }
        }
        ops.write = { req, ino, buf, size, _, fi in
            let data = [UInt8](UnsafeRawBufferPointer(start: buf, count: size))
            let handle = fi?.pointee.fh ?? 0
            let context = Request(raw: req!).context
            Bridge.from(req).spawn(req) {
                .written(try await $0.write(UInt64(ino), handle: handle, data: data, context: context))
            }
        }
        // No flush: libfuse answers ENOSYS once and the kernel stops sending it on every close.
        ops.release = { req, _, fi in
            let handle = fi?.pointee.fh ?? 0
            Bridge.from(req).answer(req) { fs in
                fs.release(handle)
                return .ok
            }
        }
        ops.opendir = { req, ino, fi in
            let info = fi!.pointee
            let context = Request(raw: req!).context
            Bridge.from(req).spawn(req) { .open(try await $0.opendir(UInt64(ino), context: context), info) }
        }
        ops.readdir = { req, ino, size, offset, fi in
            let handle = fi?.pointee.fh ?? 0
            let bridge = Bridge.from(req)
            let listed = Result { try bridge.fileSystem.readdir(handle, offset: Int(offset)) }
            if case .success(nil) = listed {
                // Opened by the worker before this one: listed again from the inode.
                let context = Request(raw: req!).context
                bridge.spawn(req) {
                    .directory(
                        try await $0.readdirAgain(UInt64(ino), offset: Int(offset), context: context),
                        maxSize: size)
                }
                return
            }
            bridge.answer(req) { _ in .directory(try listed.get()!, maxSize: size) }
        }
        ops.releasedir = { req, _, fi in
            let handle = fi?.pointee.fh ?? 0
            Bridge.from(req).answer(req) { fs in
                fs.release(handle)
                return .ok
            }
        }
        ops.statfs = { req, _ in FUSEReplier.send(Request(raw: req!), .statfs) }
        ops.mknod = { req, _, _, _, _ in Operations.refuse(req) }
        ops.mkdir = { req, _, _, _ in Operations.refuse(req) }
        ops.unlink = { req, _, _ in Operations.refuse(req) }
        ops.rmdir = { req, _, _ in Operations.refuse(req) }
        ops.symlink = { req, _, _, _ in Operations.refuse(req) }
        ops.rename = { req, _, _, _, _, _ in Operations.refuse(req) }
        ops.link = { req, _, _, _ in Operations.refuse(req) }
        ops.create = { req, _, _, _, _ in Operations.refuse(req) }
        ops.getxattr = { req, ino, name, size in
            let name = String(cString: name!)
            guard SecretsFileSystem.mayBeOwnXattr(name) else {
                Bridge.from(req).answer(req) { try $0.getForeignXattr(UInt64(ino)) }
                return
            }
            Bridge.from(req).spawn(req) { Operations.xattrReply(try await $0.getXattr(UInt64(ino), name: name), size) }
        }
        ops.listxattr = { req, ino, size in
            Bridge.from(req).spawn(req) { fs in
                let names: [UInt8] = try await fs.listXattrs(UInt64(ino)).flatMap { name -> [UInt8] in
                    Array(name.utf8) + [0]
                }
                return Operations.xattrReply(names, size)
            }
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

    private static func refuse(_ req: fuse_req_t?) {
        Bridge.from(req).answer(req) { throw $0.refuseChange() }
    }
}
