import SecretsCore
import Synchronization

/// How a change reaches programs that watch files with inotify. The kernel raises inotify events for
/// operations that pass through the VFS, never for a FUSE daemon dropping its caches; so the FUSE
/// layer operates on each changed file through the mount, from a thread of its own, and the file
/// system accepts those operations from that thread alone (every other caller's stay refused).
public protocol ChangeAnnouncer: Sendable {
    /// The files at `paths` (relative to the mount's root: values, fields, and the `.versions` labels
    /// the kernel knows) changed, and the kernel may still hold `inodes`, the earlier versions of those
    /// values: a watch on a file holds the inode it was set on, and a changed value is another inode
    /// (`NodeKey.value`). Called after the kernel was told to drop its caches for them.
    func announce(paths: [String], inodes: [UInt64])
}

/// The threads operating on the mount for an announcement, by the id the kernel gives their requests.
final class AnnouncingThreads: Sendable {
    private let ids = Mutex<[Int32: Int]>([:])

    func begin(_ id: Int32) { ids.withLock { $0[id, default: 0] += 1 } }

    func end(_ id: Int32) {
        ids.withLock { ids in
            let left = (ids[id] ?? 1) - 1
            ids[id] = left > 0 ? left : nil
        }
    }

    func contains(_ id: Int32) -> Bool { ids.withLock { $0[id] != nil } }
}

extension SecretsFileSystem {
    /// From now on, every change the cache sees is announced to `announcer` as well.
    public func attach(announcer: any ChangeAnnouncer) {
        kernel.attach(announcer: announcer)
    }

    /// Runs `body` with the calling thread allowed the operations of an announcement; `threadID` is
    /// the id the kernel puts in the thread's requests.
    public func announcing<T>(fromThread threadID: Int32, _ body: () throws -> T) rethrows -> T {
        kernel.announcers.begin(threadID)
        defer { kernel.announcers.end(threadID) }
        return try body()
    }

    /// The kernel dropped `lookups` of the lookups that named `inode`.
    public func forget(_ inode: UInt64, lookups: UInt64) {
        kernel.forgotten(inode, lookups: lookups)
    }

    /// Whether a request is an announcement's touch of `inode`: from an announcing thread, on a value
    /// file, a rendered file, or (with `label`: for times alone, as a symlink cannot be opened) a
    /// `.versions` label. SETATTR answers such a touch of times with the node's own attributes, so
    /// `stat` keeps showing the version's time; OPEN for writing with a handle nothing is written
    /// through (its close is the event). Anyone else's request is refused as before.
    func isAnnouncement(_ inode: UInt64, _ context: RequestContext, label: Bool) -> Bool {
        guard kernel.announcers.contains(context.pid) else { return false }
        switch inodes.key(for: inode)?.announcedAs {
        case .file?: return true
        case .symlink?: return label
        default: return false
        }
    }
}
