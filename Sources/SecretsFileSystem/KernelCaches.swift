import SecretsCore
import Synchronization

/// What the kernel may hold for a node, and how it is told to drop it when the cache says a value
/// changed: the names of value files, their pages, and what the node cache keeps for them.
final class KernelCaches: Sendable {
    private let inodes: InodeTable
    private let nodes: NodeCache
    private let invalidator = Mutex<(any KernelCacheInvalidator)?>(nil)
    private let announcer = Mutex<(any ChangeAnnouncer)?>(nil)
    let announcers = AnnouncingThreads()
    private let shownValues = ShownValueInodes()
    /// Bumped on every change the cache reports, before the kernel is told; see `lookup`.
    private let changes = Atomic<UInt64>(0)
    private let rendered: RenderedFiles

    init(inodes: InodeTable, nodes: NodeCache, rendered: RenderedFiles = .none) {
        self.inodes = inodes
        self.nodes = nodes
        self.rendered = rendered
        // A worker taking over from another cannot know which value inodes the kernel still holds;
        // each counts as held until a FORGET, or an announcement that finds it gone, says not.
        for (key, inode) in inodes.inodes(where: { $0.valuePath != nil }) {
            if let path = key.valuePath { shownValues.assumeHeld(inode, for: path) }
        }
    }

    func attach(_ kernel: any KernelCacheInvalidator) {
        invalidator.withLock { $0 = kernel }
    }

    func attach(announcer: any ChangeAnnouncer) {
        self.announcer.withLock { $0 = announcer }
    }

    /// Read before a lookup resolves; a different count after it means a change may have come too
    /// early to see the number the lookup made.
    var changeCount: UInt64 { changes.load(ordering: .sequentiallyConsistent) }

    /// Records that the kernel was given `inode` for a version of `path`, so a change drops its pages.
    func shown(_ inode: UInt64, for path: SecretPath) {
        shownValues.shown(inode, for: path)
    }

    func forgotten(_ inode: UInt64, lookups: UInt64) {
        shownValues.forgotten(inode, lookups: lookups)
    }

    /// Maps a change the cache saw to what the kernel may hold for it. A value file's name is
    /// dropped from its folder, so the next lookup finds the new version's inode; the old inode's
    /// pages go too (a descriptor still open on it reads its own version again from here).
    func changed(_ key: CacheKey) {
        changes.add(1, ordering: .sequentiallyConsistent)
        let kernel = invalidator.withLock { $0 }
        var affected: [(NodeKey, UInt64)]
        var oldValues: [UInt64] = []
        switch key {
        case .secret(let path, _), .versions(let path):
            let dependents = Set(rendered.dependents(of: path))
            affected = inodes.inodes { $0.changes(with: path, dependents: dependents) }
            oldValues = shownValues.take { $0 == path || $0.parent == path }
        case .listing(let folder):
            affected = inodes.inodes { $0.changes(withListingOf: folder) }
        }
        // Labels and rendered files keep their numbers, so each is announced by its path.
        var labels: [String] = []
        var renderedPaths: [String] = []
        for (node, _) in affected {
            guard let path = node.announcedPath else { continue }
            if node.announcedAs == .symlink { labels.append(path) } else { renderedPaths.append(path) }
        }
        var names = Set<SecretPath>()
        affected.removeAll { node, _ in
            guard let path = node.valuePath else { return false }
            names.insert(path)
            return true
        }
        // Names first: from the moment the name is dropped, new opens reach the new version.
        for path in names {
            guard let parent = path.parent, let folder = inodes.existingInode(for: .path(parent)) else { continue }
            kernel?.invalidateEntry(parent: folder, name: path.name)
        }
        let dropped = affected.map(\.1) + oldValues
        nodes.invalidate(dropped)
        for inode in dropped { kernel?.invalidateInode(inode) }
        // Once per change of a value: a rotation also drops the versions and listings around it.
        guard case .secret(_, version: nil) = key, !names.isEmpty || !labels.isEmpty || !renderedPaths.isEmpty
        else { return }
        let held = shownValues.held { names.contains($0) }
        // A rendered file keeps its inode across changes, so its path reaches every watcher of it.
        let paths = names.map(\.string).sorted() + labels.sorted() + renderedPaths.sorted()
        announcer.withLock { $0 }?.announce(paths: paths, inodes: held)
    }

    /// Waits until the kernel has acted on every invalidation sent so far.
    func caughtUp() async {
        await invalidator.withLock { $0 }?.flush()
    }
}
