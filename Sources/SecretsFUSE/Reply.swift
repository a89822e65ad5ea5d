import CFUSE
import Foundation
import SecretsFileSystem

/// What a handler answers; `FUSEReplier.send` is the only code that calls `fuse_reply_*`, so each
/// request is answered exactly once by construction.
enum Reply {
    case entry(EntryReply)
    case attributes(AttributeReply)
    case open(OpenReply, fuse_file_info)
    case bytes([UInt8])
    case written(Int)
    case link(String)
    case directory(ArraySlice<DirectoryEntry>, maxSize: Int)
    /// READDIRPLUS: the file system chose the entries that fit (it counts each as a lookup).
    case directoryPlus([DirectoryPlusEntry], maxSize: Int)
    case xattrSize(Int)
    case xattrBytes([UInt8])
    case statfs
    /// The events ready on a descriptor, for POLL.
    case poll(UInt32)
    case ok
    case error(Int32)
    /// FORGET takes no answer but must still be acknowledged to libfuse.
    case none
}

/// A request handle that may cross to another thread: libfuse allows replying from any thread.
struct Request: @unchecked Sendable {
    let raw: fuse_req_t

    var context: RequestContext {
        let ctx = fuse_req_ctx(raw)!.pointee
        return RequestContext(uid: ctx.uid, gid: ctx.gid, pid: ctx.pid)
    }
}

enum FUSEReplier {
    static func send(_ request: Request, _ reply: Reply) {
        let req = request.raw
        switch reply {
        case .entry(let entry):
            var param = entryParam(entry)
            fuse_reply_entry(req, &param)
        case .attributes(let reply):
            var st = makeStat(reply.attributes)
            fuse_reply_attr(req, &st, reply.timeout)
        case .open(let open, var info):
            info.fh = open.handle
            info.direct_io = open.directIO ? 1 : 0
            info.keep_cache = open.keepCache ? 1 : 0
            info.nonseekable = open.nonSeekable ? 1 : 0
            info.noflush = 1
            fuse_reply_open(req, &info)
        case .bytes(let bytes):
            bytes.withUnsafeBytes { buffer in
                _ = fuse_reply_buf(req, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
            }
        case .written(let count):
            fuse_reply_write(req, count)
        case .link(let target):
            fuse_reply_readlink(req, target)
        case .directory(let entries, let maxSize):
            replyDirectory(req, entries, maxSize: maxSize)
        case .directoryPlus(let entries, let maxSize):
            replyDirectoryPlus(req, entries, maxSize: maxSize)
        case .xattrSize(let size):
            fuse_reply_xattr(req, size)
        case .xattrBytes(let bytes):
            bytes.withUnsafeBytes { buffer in
                _ = fuse_reply_buf(req, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
            }
        case .statfs:
            var st = statvfs()
            st.f_bsize = 4096
            st.f_frsize = 4096
            st.f_namemax = 255
            fuse_reply_statfs(req, &st)
        case .poll(let events):
            fuse_reply_poll(req, events)
        case .ok:
            fuse_reply_err(req, 0)
        case .error(let errno):
            fuse_reply_err(req, errno)
        case .none:
            fuse_reply_none(req)
        }
    }

    private static func replyDirectory(_ req: fuse_req_t, _ entries: ArraySlice<DirectoryEntry>, maxSize: Int) {
        var buffer = [CChar](repeating: 0, count: maxSize)
        var used = 0
        buffer.withUnsafeMutableBufferPointer { out in
            for entry in entries {
                var st = stat()
                st.st_ino = UInt(entry.inode)
                st.st_mode = typeBits(entry.type)
                let needed = fuse_add_direntry(req, nil, 0, entry.name, nil, 0)
                if used + needed > maxSize { break }
                _ = fuse_add_direntry(
                    req, out.baseAddress! + used, maxSize - used, entry.name, &st, off_t(entry.offset))
                used += needed
            }
        }
        buffer.withUnsafeBufferPointer { _ = fuse_reply_buf(req, $0.baseAddress, used) }
    }

    private static func entryParam(_ entry: EntryReply) -> fuse_entry_param {
        var param = fuse_entry_param()
        param.ino = fuse_ino_t(entry.attributes.inode)
        param.generation = 1
        param.attr = makeStat(entry.attributes)
        param.attr_timeout = entry.attributeTimeout
        param.entry_timeout = entry.entryTimeout
        return param
    }

    /// The bytes one READDIRPLUS entry named `name` takes, with or without attributes.
    static let plusEntrySize: @Sendable (String) -> Int = { name in fuse_add_direntry_plus(nil, nil, 0, name, nil, 0) }

    /// An entry without attributes has node id 0: the kernel lists the name and counts no lookup.
    private static func replyDirectoryPlus(_ req: fuse_req_t, _ entries: [DirectoryPlusEntry], maxSize: Int) {
        var buffer = [CChar](repeating: 0, count: maxSize)
        var used = 0
        buffer.withUnsafeMutableBufferPointer { out in
            for plus in entries {
                var param = fuse_entry_param()
                if let lookup = plus.lookup {
                    param = entryParam(lookup)
                } else {
                    param.attr.st_ino = UInt(plus.entry.inode)
                    param.attr.st_mode = typeBits(plus.entry.type)
                }
                let needed = plusEntrySize(plus.entry.name)
                // The file system sized the page with `plusEntrySize`; this never cuts it.
                guard used + needed <= maxSize else { break }
                _ = fuse_add_direntry_plus(
                    req, out.baseAddress! + used, maxSize - used, plus.entry.name, &param, off_t(plus.entry.offset))
                used += needed
            }
        }
        buffer.withUnsafeBufferPointer { _ = fuse_reply_buf(req, $0.baseAddress, used) }
    }

    static func typeBits(_ type: NodeType) -> mode_t {
        switch type {
        case .file: return S_IFREG
        case .directory: return S_IFDIR
        case .symlink: return S_IFLNK
        case .unknown: return 0
        }
    }

    static func makeStat(_ attributes: NodeAttributes) -> stat {
        var st = stat()
        st.st_ino = UInt(attributes.inode)
        st.st_mode = typeBits(attributes.type) | mode_t(attributes.permissions)
        st.st_nlink = UInt(attributes.linkCount)
        st.st_uid = attributes.uid
        st.st_gid = attributes.gid
        st.st_size = off_t(attributes.size)
        st.st_blksize = 4096
        st.st_blocks = blkcnt_t((attributes.size + 511) / 512)
        let seconds = attributes.modified.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        let time = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        st.st_mtim = time
        st.st_ctim = time
        st.st_atim = time
        return st
    }
}
