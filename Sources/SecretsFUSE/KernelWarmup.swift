import CFUSE
import Foundation
import Logging
import SecretsCore
import SecretsFileSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `--prefetch` carried into the kernel: once the mount serves, each prefetched value's file is
/// looked up through the mount, so the kernel holds its name, its attributes and its pages before a
/// program asks (the pages go with the LOOKUP's reply, `Bridge.replyEntry`, and again once `lstat`
/// returns, when the kernel surely holds the inode). A program's first read of it is then
/// a read of the page cache, as of a file on tmpfs, where it was a LOOKUP and a READ. `lstat` raises
/// no inotify event, so watchers of the mount see nothing of it.
///
/// On a thread of its own, never the FUSE loop's or the cooperative pool's: each `lstat` waits for
/// the loop to answer, and a LOOKUP is answered on the pool.
final class KernelWarmup: Sendable {
    private let isOpen = Atomic(true)

    /// Looks `files` (paths below `mountpoint`) up, one after the other.
    func start(
        _ files: [String], mountpoint: String, fileSystem: SecretsFileSystem, notifier: KernelNotifier, logger: Logger
    ) {
        guard !files.isEmpty else { return }
        let thread = Thread { [self] in
            _ = secretsfs_name_this_thread("secretsfs-warmup")
            let started = ContinuousClock.now
            var warmed = 0
            for file in files {
                guard isOpen.load(ordering: .relaxed) else { return }
                var status = stat()
                guard lstat(mountpoint + "/" + file, &status) == 0 else { continue }
                warmed += 1
                let inode = UInt64(status.st_ino)
                if let pages = fileSystem.pagesForKernel(inode) { notifier.store(pages, inode: inode) }
            }
            logger.debug(
                "prefetched files are in the kernel's caches",
                metadata: ["files": "\(warmed)", "seconds": "\((ContinuousClock.now - started).seconds)"])
        }
        thread.start()
    }

    /// Stops between two lookups: the loop that would answer the next is about to end.
    func close() {
        isOpen.store(false, ordering: .relaxed)
    }
}
