import CFUSE
import Dispatch
import SecretsFileSystem
import Synchronization

/// Drops what the kernel caches, off every request path: a notification may wait for a page lock
/// that a pending READ holds, and that READ may be waiting for the cache that sent the notice.
final class KernelNotifier: KernelCacheInvalidator, @unchecked Sendable {
    // The session outlives the notifier's use: `close()` runs before the session is destroyed.
    private let session: OpaquePointer
    private let queue = DispatchQueue(label: "secretsfs.kernel-notify")
    private let isOpen = Mutex(true)

    init(session: OpaquePointer) { self.session = session }

    func invalidateInode(_ inode: UInt64) {
        queue.async { [self] in
            guard isOpen.withLock({ $0 }) else { return }
            // -ENOENT only means the kernel holds nothing for this inode.
            _ = fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(inode), 0, 0)
        }
    }

    func invalidateEntry(parent: UInt64, name: String) {
        queue.async { [self] in
            guard isOpen.withLock({ $0 }) else { return }
            _ = fuse_lowlevel_notify_inval_entry(session, fuse_ino_t(parent), name, name.utf8.count)
        }
    }

    /// The queue is serial: once this block runs, every notice queued before it has been written, and
    /// the kernel acts on a notice within the write. Waits without holding a thread.
    func flush() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            queue.async { done.resume() }
        }
    }

    /// Runs `block` once every notice queued before this call has been written.
    func afterNotices(_ block: @escaping @Sendable () -> Void) {
        queue.async(execute: block)
    }

    /// Stops notifying and waits for queued notices, before the session goes away.
    func close() {
        queue.sync { isOpen.withLock { $0 = false } }
    }
}
