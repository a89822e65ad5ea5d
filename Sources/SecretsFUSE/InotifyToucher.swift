import CFUSE
import Dispatch
import Logging
import SecretsCore
import SecretsFileSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Raises inotify events for a changed value by writing nothing to it through the mount, the way an
/// editor saving it would look: open for writing, set the mtime, close. The kernel reports IN_OPEN,
/// IN_MODIFY and IN_CLOSE_WRITE to watchers of the file and of its folder; the file system accepts
/// these operations from this thread only and answers with the version's own attributes.
///
/// Runs on a queue of its own, never on the FUSE loop: every call here sends requests that the loop
/// must answer while the call waits.
final class InotifyToucher: ChangeAnnouncer, @unchecked Sendable {
    private let mountpoint: String
    private let fileSystem: SecretsFileSystem
    private let notifier: KernelNotifier
    private let logger: Logger
    private let queue = DispatchQueue(label: "secretsfs.inotify")
    private let isOpen = Atomic(true)

    init(mountpoint: String, fileSystem: SecretsFileSystem, notifier: KernelNotifier, logger: Logger) {
        self.mountpoint = mountpoint
        self.fileSystem = fileSystem
        self.notifier = notifier
        self.logger = logger
    }

    func announce(paths: [String], inodes: [UInt64]) {
        guard isOpen.load(ordering: .relaxed) else { return }
        // After the notices queued so far: a watcher that reads on the event must reach the new version.
        notifier.afterNotices { [self] in
            queue.async { [self] in touch(paths, inodes) }
        }
    }

    /// Stops touching: the loop that would answer is about to end, and a call on the mount then would
    /// wait for the next worker.
    func close() {
        isOpen.store(false, ordering: .relaxed)
    }

    private func touch(_ paths: [String], _ inodes: [UInt64]) {
        guard isOpen.load(ordering: .relaxed) else { return }
        fileSystem.announcing(fromThread: secretsfs_thread_id()) {
            // By name: watchers of the folder, which hear of the name whatever inode it leads to.
            for path in paths { touch(path: mountpoint + "/" + path) }
            // By number: watchers of the file itself, which hold the inode of the version they were set on.
            if !inodes.isEmpty { touch(inodes: inodes) }
        }
    }

    private func touch(path: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd >= 0 {
            _ = secretsfs_touch_fd(fd)
            Glibc.close(fd)
            return
        }
        // A symlink (a label), or no leave to open a read-only file for writing (not root): the mtime
        // alone, IN_MODIFY.
        if secretsfs_touch_path(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW) != 0 {
            logger.debug("could not raise inotify events", metadata: ["path": "\(path)", "errno": "\(errno)"])
        }
    }

    private func touch(inodes: [UInt64]) {
        // open_by_handle_at refuses an O_PATH descriptor for the mount.
        let mount = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard mount >= 0 else { return }
        defer { Glibc.close(mount) }
        for inode in inodes {
            let fd = secretsfs_open_node(mount, inode, 1, O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = secretsfs_touch_fd(fd)
                Glibc.close(fd)
                continue
            }
            let failure = errno
            // ESTALE: the kernel no longer holds this inode, so nothing watches it, and it needs no more.
            guard failure != ESTALE else {
                fileSystem.forget(inode, lookups: .max)
                continue
            }
            let pathOnly = secretsfs_open_node(mount, inode, 1, O_PATH | O_CLOEXEC)
            if pathOnly >= 0 {
                _ = secretsfs_touch_path(pathOnly, "", AT_EMPTY_PATH)
                Glibc.close(pathOnly)
            } else {
                logger.debug("could not raise inotify events", metadata: ["inode": "\(inode)", "errno": "\(errno)"])
            }
        }
    }
}
