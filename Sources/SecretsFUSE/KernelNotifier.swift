import CFUSE
import Dispatch
import SecretsCore
import SecretsFileSystem
import Synchronization

/// Drops what the kernel caches, off every request path: a notification may wait for a page lock
/// that a pending READ holds, and that READ may be waiting for the cache that sent the notice.
final class KernelNotifier: KernelCacheInvalidator, @unchecked Sendable {
    // The session outlives the notifier's use: `close()` runs before the session is destroyed.
    private let session: OpaquePointer
    private let queue = DispatchQueue(label: "secretsfs.kernel-notify")
    /// Stores of pages, apart: one may wait for its inode (`store`), and a rotation's answer waits
    /// for the invalidations before it (`flush`), never for a store. Their order does not matter:
    /// each inode shows one version, so a store late or early puts the same bytes in.
    private let pageQueue = DispatchQueue(label: "secretsfs.kernel-pages")
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

    /// Puts `value` into the page cache of `inode`, whose LOOKUP was just answered. The kernel makes
    /// the inode only once the process that looked it up runs again, so a store that comes first
    /// finds none (ENOENT) and is tried again: at once for `spinFor` (a process about to read runs
    /// within microseconds), then every millisecond up to `inodeWait` (a loaded machine). A READ that
    /// comes first fills the cache itself, as it did without this. Off the replying thread: a store
    /// waits for the page's lock, which a READ of the same file holds until it is answered, and that
    /// answer may need the very thread that would be waiting.
    func store(_ value: SecretValue, inode: UInt64) {
        pageQueue.async { [self] in
            let started = SessionLoop.now()
            while isOpen.withLock({ $0 }), storeNow(value, inode: inode) == -ENOENT {
                let waited = SessionLoop.now() - started
                if waited >= Self.inodeWait.nanoseconds { return }
                if waited < Self.spinFor.nanoseconds { sched_yield() } else { usleep(1000) }
            }
        }
    }

    static let spinFor: Duration = .microseconds(200)
    /// The longest a store waits for the kernel to make the inode a LOOKUP's reply named: the
    /// process that looked it up may have been interrupted and never make it.
    static let inodeWait: Duration = .milliseconds(100)

    /// 0, or a negative errno: -ENOENT, the kernel holds no such inode.
    private func storeNow(_ value: SecretValue, inode: UInt64) -> Int32 {
        value.withUnsafeBytes { secretsfs_notify_store(session, inode, $0.baseAddress, $0.count) }
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

    /// Stops notifying and waits for queued notices and stores, before the session goes away.
    func close() {
        queue.sync { isOpen.withLock { $0 = false } }
        pageQueue.sync {}
    }
}
