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

    /// A SETATTR that changes only times, from an announcing thread: answered with the node's own
    /// attributes, so `stat` keeps showing the version's time. Nil for anyone else, whose request
    /// `setattr` refuses as before.
    public func announcementSetattr(
        _ inode: UInt64, timesOnly: Bool, context: RequestContext
    ) -> Answer<AttributeReply>? {
        guard timesOnly, kernel.announcers.contains(context.pid), isAnnounced(inode) else { return nil }
        return getattr(inode, context: context)
    }

    /// An OPEN for writing from an announcing thread: nothing is written through it, its close is
    /// the event. Keeps the pages other readers have. Nil for anyone else.
    public func announcementOpen(_ inode: UInt64, writing: Bool, context: RequestContext) -> Answer<OpenReply>? {
        guard writing, kernel.announcers.contains(context.pid), isAnnounced(inode, label: false) else { return nil }
        return .now(.success(OpenReply(handle: 0, directIO: false, keepCache: true)))
    }

    /// Value files, rendered files, and (for times alone, as a symlink cannot be opened) `.versions` labels.
    private func isAnnounced(_ inode: UInt64, label: Bool = true) -> Bool {
        switch inodes.key(for: inode) {
        case .value?, .rendered?: return true
        case .label?: return label
        default: return false
        }
    }
}
