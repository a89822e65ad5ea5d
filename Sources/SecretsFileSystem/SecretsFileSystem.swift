import Foundation
import Logging
import SecretsCore

/// The mount's semantics without the kernel: one entry point per FUSE operation, each returning an
/// `Answer`: now when memory decides it, later when the store must be asked. Errors are
/// `SecretError`s; the FUSE layer turns them into errno through `ErrnoMapping` and replies once.
///
/// What it holds: the resolver (keys to nodes), the node cache (what was resolved a moment ago),
/// the handles of open files and folders, and the kernel's caches to keep in step.
public final class SecretsFileSystem: Sendable {
    public static let rootInode = InodeTable.rootInode
    static let maxRotateInput = 4096

    let options: FileSystemOptions
    /// Decides who may read what and with which owner and mode (DESIGN §10).
    let judge: Judge
    let clock: any TimeSource
    let logger: Logger
    let resolver: Resolver
    let nodes: NodeCache
    let handles: HandleTable
    let kernel: KernelCaches
    let rotations = RotationLog()
    /// The kernel's requests by operation; the FUSE layer counts each as it arrives.
    public let requests = RequestTally()
    /// Every change event of this mount, for `.events` streams and `on_change` actions.
    public let changes = ChangeFeed()
    let started: MountStart

    public init(
        store: CachingSecretStore, options: FileSystemOptions, clock: any TimeSource, logger: Logger,
        continuity: WorkerContinuity = .none
    ) {
        let inodes = InodeTable(restoring: continuity.restoredInodes, journal: continuity.journal)
        let nodes = NodeCache()
        self.resolver = Resolver(store: store, inodes: inodes, logger: logger, rendered: options.rendered)
        self.nodes = nodes
        self.kernel = KernelCaches(inodes: inodes, nodes: nodes, rendered: options.rendered)
        self.handles = HandleTable(generation: continuity.generation)
        self.options = options
        self.judge = Judge(options)
        self.clock = clock
        self.logger = logger
        self.started = MountStart(
            wall: clock.wallNow(), monotonic: clock.monotonicNow(), worker: continuity.worker)
    }

    /// Connects the kernel's caches: from now on every change the cache sees drops what the
    /// kernel holds for the nodes it touches.
    public func attach(_ kernel: any KernelCacheInvalidator) async {
        self.kernel.attach(kernel)
        await store.onChange { [weak self] change in self?.changed(change) }
    }

    /// Whether the kernel may open files without asking: see `CachingMode.kernelOpens`.
    public var opensStayInKernel: Bool { options.caching == .kernelOpens }

    public var backendName: String { store.descriptor.backend }

    var store: CachingSecretStore { resolver.store }
    var inodes: InodeTable { resolver.inodes }
    var capabilities: StoreCapabilities { resolver.capabilities }
    var worker: WorkerIdentity? { started.worker }
    var mountedAt: Date { started.wall }
    var startedMonotonic: Duration { started.monotonic }

    /// Any change to the tree but `.rotate`: creating, removing, renaming, linking, xattrs.
    public func refuseChange() -> Answer<Void> {
        .now(.failure(SecretError(.readOnly, "read-only file system")))
    }

    /// Keeps a value node just resolved, so the OPEN, READ and GETATTR that follow are answered now.
    /// Never a stale value, which must keep asking the cache, and never one resolved before an
    /// invalidation that came since (`generation`). `opened`: an OPEN resolved it and took it.
    func keep(
        _ inode: UInt64, _ node: Node, _ outcome: CacheOutcome?, resolvedAt generation: UInt64, opened: Bool = false
    ) {
        guard outcome != .stale, node.value != nil else { return }
        let now = clock.monotonicNow()
        let lifetime =
            readsPerOpen ? store.policy.coalescingWindow : NodeCache.nodeLifetime(options.kernelCacheTimeout)
        nodes.store(
            NodeCache.Key(inode: inode), .node(node), until: now + lifetime, now: now, resolvedAt: generation,
            opened: opened)
    }

    /// `--cache-ttl 0`: the kernel keeps nothing, and each open reads the store once (DESIGN §1.1).
    /// The node a LOOKUP resolved answers the one OPEN that follows it and that open's GETATTRs; a
    /// second OPEN without a LOOKUP between (a file opened through `/proc/PID/fd`) resolves again.
    var readsPerOpen: Bool { options.kernelCacheTimeout == 0 }

    /// The node kept for `inode` a moment ago, if any.
    func kept(_ inode: UInt64) -> (node: Node, left: Duration)? {
        nodes.node(inode, now: clock.monotonicNow())
    }
}

/// When and by whom the mount was started, for `.status` and the times of generated files.
struct MountStart: Sendable {
    var wall: Date
    var monotonic: Duration
    var worker: WorkerIdentity?
}
