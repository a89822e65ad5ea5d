import Foundation
import Logging
import SecretsCore
import Synchronization

/// The mount's semantics without the kernel: inodes, what each node is, and the operations the
/// FUSE layer forwards. Every operation returns a value or throws a `SecretError`; the FUSE layer
/// turns errors into errno through `ErrnoMapping` and replies exactly once.
public final class SecretsFileSystem: Sendable {
    public static let rootInode = InodeTable.rootInode
    static let reservedNames: Set<String> = [".versions", ".rotate", ".status", ".metrics"]
    static let maxRotateInput = 4096

    let store: CachingSecretStore
    let options: FileSystemOptions
    let clock: any TimeSource
    let logger: Logger
    let inodes: InodeTable
    let handles: HandleTable
    let worker: WorkerIdentity?
    let rotations = RotationLog()
    let mountedAt: Date
    let startedMonotonic: Duration
    private let invalidator = Mutex<(any KernelCacheInvalidator)?>(nil)
    let generated = GeneratedSnapshots()
    let hotNodes = HotNodes()
    let shownValues = ShownValueInodes()
    /// Bumped on every change the cache reports, before the kernel is told; see `lookup`.
    let changes = Atomic<UInt64>(0)
    private let loggedCollisions = LogOnce()
    private let loggedNames = LogOnce()

    public init(
        store: CachingSecretStore, options: FileSystemOptions, clock: any TimeSource, logger: Logger,
        continuity: WorkerContinuity = .none
    ) {
        self.inodes = InodeTable(restoring: continuity.restoredInodes, journal: continuity.journal)
        self.handles = HandleTable(generation: continuity.generation)
        self.worker = continuity.worker
        self.store = store
        self.options = options
        self.clock = clock
        self.logger = logger
        self.mountedAt = clock.wallNow()
        self.startedMonotonic = clock.monotonicNow()
    }

    /// Connects the kernel's caches: from now on every change the cache sees drops what the
    /// kernel holds for the nodes it touches.
    public func attach(_ kernel: any KernelCacheInvalidator) async {
        invalidator.withLock { $0 = kernel }
        await store.onChange { [weak self] key in self?.cacheChanged(key) }
    }

    var capabilities: StoreCapabilities { store.descriptor.capabilities }

    /// When nothing needs to see each open (no policy, no audit, no direct I/O), the kernel may
    /// open files without asking: the FUSE layer answers OPEN with ENOSYS once, and from then on
    /// reads come from the page cache until the daemon invalidates them.
    public var opensStayInKernel: Bool { options.opensStayInKernel }

    // MARK: Operations

    public func lookup(parent: UInt64, name: String, context: RequestContext = .unknown) async throws -> EntryReply {
        let parentKey = try key(parent)
        let childKey = try await childKey(of: parentKey, named: name)
        var tries = 0
        var outcome: OutcomeRecorder
        var generation: UInt64
        var node: Node
        var inode: UInt64
        repeat {
            tries += 1
            outcome = OutcomeRecorder()
            generation = hotNodes.generation
            let seen = changes.load(ordering: .sequentiallyConsistent)
            node = try await resolve(childKey, outcome: outcome)
            let numbered = Self.numbered(childKey, node)
            inode = inodes.inode(for: numbered)
            if case .value(let path, _, _) = numbered { shownValues.shown(inode, for: path) }
            // A change that came while this resolved may not have seen the number just made, so
            // could not tell the kernel to drop it: resolve again rather than hand out an old version.
            // (A change after this check sees the number and drops the name once this reply is in.)
            if changes.load(ordering: .sequentiallyConsistent) == seen { break }
        } while tries < 3
        keepAtHand(inode, node, outcome.value, resolvedAt: generation)
        let attributes = try await attributes(of: node, inode: inode, pid: context.pid)
        let timeout = timeout(for: node)
        return EntryReply(attributes: attributes, entryTimeout: options.kernelCacheTimeout, attributeTimeout: timeout)
    }

    public func getattr(_ inode: UInt64, context: RequestContext = .unknown) async throws -> AttributeReply {
        let node = try await resolve(try key(inode))
        let attributes = try await attributes(of: node, inode: inode, pid: context.pid)
        return AttributeReply(attributes: attributes, timeout: timeout(for: node))
    }

    /// GETATTR for a value just resolved, answered on the FUSE thread. With direct I/O the kernel
    /// forgets a file's atime after every read, so each `fstat` (Python's `open` makes one) comes
    /// here. The kernel may keep these attributes only while the node is at hand: a GETATTR is
    /// also how the kernel revalidates a file once its attribute timeout (the TTL) has passed, and
    /// that one must reach the cache.
    public func getattrIfHot(_ inode: UInt64) -> AttributeReply? {
        guard let (node, left) = hotNodes.nodeAndTimeLeft(inode, now: clock.monotonicNow()),
            let attributes = storedAttributes(of: node, inode: inode)
        else { return nil }
        return AttributeReply(attributes: attributes, timeout: min(timeout(for: node), left.seconds))
    }

    public func readlink(_ inode: UInt64) async throws -> String {
        guard case .label(_, _, let target) = try await resolve(try key(inode)) else {
            throw SecretError(.invalidArgument, "not a symlink")
        }
        return target
    }

    public func open(_ inode: UInt64, writing: Bool, context: RequestContext) async throws -> OpenReply {
        let key = try key(inode)
        let caller = options.perOpenChecks ? options.callers.resolve(context, groups: options.policyNamesGroups) : nil
        if let node = hotNodes.node(inode, now: clock.monotonicNow()) {
            return try openValue(key, node, caller: caller, outcome: .hit, writing: writing)
        }
        let outcome = OutcomeRecorder()
        let generation = hotNodes.generation
        let node: Node
        do {
            // Judged on the path alone, before any fetch: a refused caller costs the backend nothing.
            try checkPolicy(key, caller)
            node = try await resolve(key, outcome: outcome)
        } catch {
            if let caller, Self.isValueNode(key) { audit(.open, key, nil, caller, outcome.value, error: error) }
            throw error
        }
        switch node {
        case .rotate(let folder):
            try checkPolicy(key, caller)
            let history = try await generatedSnapshot(of: node, inode: inode, pid: context.pid).bytes
            return OpenReply(
                handle: handles.insert(.rotate(folder: folder, history: history)), directIO: true, keepCache: false)
        case .status, .metrics:
            guard !writing else { throw SecretError(.readOnly, "read-only file") }
            let bytes = try await generatedSnapshot(of: node, inode: inode, pid: context.pid).bytes
            return OpenReply(handle: handles.insert(.bytes(bytes)), directIO: true, keepCache: false)
        default:
            keepAtHand(inode, node, outcome.value, resolvedAt: generation)
            return try openValue(key, node, caller: caller, outcome: outcome.value, writing: writing)
        }
    }

    /// Opens a value file whose node was resolved a moment ago, without waiting on the store:
    /// the FUSE layer answers such opens on its own thread. Nil when the node is not at hand.
    public func openIfHot(_ inode: UInt64, writing: Bool, context: RequestContext) -> Result<OpenReply, any Error>? {
        guard let key = inodes.key(for: inode), let node = hotNodes.node(inode, now: clock.monotonicNow()) else {
            return nil
        }
        let caller = options.perOpenChecks ? options.callers.resolve(context, groups: options.policyNamesGroups) : nil
        return Result { try openValue(key, node, caller: caller, outcome: .hit, writing: writing) }
    }

    /// The end of every open of a value file: policy, audit, a handle pinning the bytes.
    private func openValue(
        _ key: NodeKey, _ node: Node, caller: Caller?, outcome: CacheOutcome?, writing: Bool
    ) throws -> OpenReply {
        do {
            try checkPolicy(key, caller)
            guard !writing else { throw SecretError(.readOnly, "secrets are read-only; write paths to .rotate") }
            guard let value = node.value else { throw SecretError(.invalidArgument, "not a file") }
            if let caller { audit(.open, key, node.secret?.version, caller, outcome, error: nil) }
            // The inode stands for this one version (`NodeKey.value`), so its pages can be kept
            // between opens: a changed value is another inode.
            let bypass = options.bypassPageCache
            return OpenReply(handle: handles.insert(.bytes(value)), directIO: bypass, keepCache: !bypass)
        } catch {
            if let caller { audit(.open, key, nil, caller, outcome, error: error) }
            throw error
        }
    }

    private func checkPolicy(_ key: NodeKey, _ caller: Caller?) throws {
        guard let caller, let policy = options.policy, let path = Self.policyPath(key) else { return }
        if !policy.allows(path, caller) { throw SecretError(.permissionDenied, "denied by policy").at(path) }
    }

    /// The bytes of an open handle, without waiting on anything; nil when the read needs the
    /// store (no handle: the kernel opened without asking).
    public func readPinned(handle: UInt64, offset: Int, size: Int) -> [UInt8]? {
        switch handles.get(handle) {
        case .bytes(let value)?, .rotate(_, let value)?: return value.slice(offset: offset, length: size)
        default: return nil
        }
    }

    /// Keeps a value node just resolved where the FUSE thread can answer the OPEN, READ and
    /// GETATTR that follow without a task. Never a stale value, which must keep asking the cache,
    /// and never one resolved before an invalidation that came since (`generation`).
    private func keepAtHand(_ inode: UInt64, _ node: Node, _ outcome: CacheOutcome?, resolvedAt generation: UInt64) {
        guard outcome != .stale, node.value != nil else { return }
        hotNodes.remember(
            inode, node, until: clock.monotonicNow() + HotNodes.lifetime(options.kernelCacheTimeout),
            resolvedAt: generation)
    }

    /// The bytes of a value file opened without a handle (the kernel filling its page cache),
    /// when its node was resolved a moment ago; nil when the read needs the store.
    public func readIfHot(_ inode: UInt64, offset: Int, size: Int) -> [UInt8]? {
        hotNodes.node(inode, now: clock.monotonicNow())?.value?.slice(offset: offset, length: size)
    }

    public func read(
        _ inode: UInt64, handle: UInt64, offset: Int, size: Int, context: RequestContext = .unknown
    ) async throws -> [UInt8] {
        if let bytes = readPinned(handle: handle, offset: offset, size: size) { return bytes }
        if case .directory? = handles.get(handle) { throw SecretError(.invalidArgument, "is a folder") }
        // No handle (the kernel opened without asking us): read what the node holds now.
        let node = try await resolve(try key(inode))
        if let value = node.value { return value.slice(offset: offset, length: size) }
        let snapshot = try await generatedSnapshot(of: node, inode: inode, pid: context.pid)
        return snapshot.bytes.slice(offset: offset, length: size)
    }

    public func write(_ inode: UInt64, handle: UInt64, data: [UInt8], context: RequestContext) async throws -> Int {
        guard case .rotate(let folder) = try key(inode) else {
            throw SecretError(.readOnly, "secrets are read-only; write paths to .rotate")
        }
        let caller = options.perOpenChecks ? options.callers.resolve(context, groups: options.policyNamesGroups) : nil
        do {
            try await rotate(lines: data, in: folder, caller: caller)
        } catch {
            await kernelCaughtUp()
            throw error
        }
        // The shell's next command must see the new value: the kernel forgets the old one before
        // the write is answered, not some time after.
        await kernelCaughtUp()
        return data.count
    }

    /// Truncation is how shells open `.rotate` for `>`; anything else changes a read-only tree.
    public func setattr(_ inode: UInt64, truncatingTo size: Int?, otherChanges: Bool) async throws -> AttributeReply {
        guard case .rotate = try key(inode), size == 0, !otherChanges else {
            throw SecretError(.readOnly, "read-only file system")
        }
        return try await getattr(inode, context: .unknown)
    }

    public func release(_ handle: UInt64) { handles.remove(handle) }

    public func opendir(_ inode: UInt64, context: RequestContext) async throws -> OpenReply {
        let entries = try await folderEntries(inode, context: context)
        return OpenReply(handle: handles.insert(.directory(entries)), directIO: false, keepCache: false)
    }

    /// What a folder lists to the caller now: the entries OPENDIR keeps in its handle.
    private func folderEntries(_ inode: UInt64, context: RequestContext) async throws -> [DirectoryEntry] {
        let key = try key(inode)
        let node = try await resolve(key)
        guard node.isDirectory else { throw SecretError(.invalidArgument, "not a folder") }
        let caller = options.policy != nil ? options.callers.resolve(context, groups: options.policyNamesGroups) : nil
        return try await directoryEntries(of: node, key: key, inode: inode, caller: caller)
    }

    /// The entries after `offset`, as many as the caller wants to take; nil when the handle is not
    /// this worker's (an earlier worker opened the folder): see `readdirAgain`.
    public func readdir(_ handle: UInt64, offset: Int) throws -> ArraySlice<DirectoryEntry>? {
        switch handles.get(handle) {
        case .directory(let entries)?: return entries.dropFirst(max(offset, 0))
        case nil: return nil
        default: throw SecretError(.invalidArgument, "folder not open")
        }
    }

    /// A folder opened by an earlier worker is listed anew from its inode: the offsets of a listing
    /// are positions in its sorted entries, so the reader goes on where it was.
    public func readdirAgain(_ inode: UInt64, offset: Int, context: RequestContext) async throws
        -> ArraySlice<DirectoryEntry>
    {
        try await folderEntries(inode, context: context).dropFirst(max(offset, 0))
    }

    /// Any change to the tree but `.rotate`: creating, removing, renaming, linking, xattrs.
    public func refuseChange() -> SecretError { SecretError(.readOnly, "read-only file system") }

    // MARK: Inodes and names

    func key(_ inode: UInt64) throws -> NodeKey {
        guard let key = inodes.key(for: inode) else { throw SecretError(.notFound, "stale inode") }
        return key
    }

    /// The key of `name` inside the node `parent`, or notFound.
    func childKey(of parent: NodeKey, named name: String) async throws -> NodeKey {
        if name.utf8.count > SecretPath.maxSegmentBytes { throw SecretError(.nameTooLong, "name too long") }
        switch parent {
        case .path(let folder):
            switch name {
            case ".rotate": return .rotate(folder: folder)
            case ".versions" where capabilities.contains(.versions): return .versionsRoot(folder: folder)
            case ".status" where folder.isRoot: return .status
            case ".metrics" where folder.isRoot: return .metrics
            default: return .path(try segment(name, in: folder))
            }
        case .versionsRoot(let folder):
            return .versions(of: try segment(name, in: folder))
        case .versions(let secret):
            let versions = try await store.versions(of: secret)
            if versions.contains(where: { $0.labels.contains(name) }) { return .label(of: secret, label: name) }
            if versions.contains(where: { $0.id == name }) { return .version(of: secret, id: name) }
            throw SecretError.notFound(secret, "no such version")
        case .version(let secret, let id):
            return .versionField(of: secret, id: id, field: name)
        default:
            throw SecretError(.notFound, "not a folder")
        }
    }

    private func segment(_ name: String, in folder: SecretPath) throws -> SecretPath {
        guard SecretPath.isValidSegment(name) else { throw SecretError(.notFound, "no such name") }
        return try folder.appending(name)
    }

    /// The key a resolved node is numbered by: a value file by its version, the rest by what they are.
    static func numbered(_ key: NodeKey, _ node: Node) -> NodeKey {
        guard case .path(let path) = key else { return key }
        switch node {
        case .secretFile(_, let secret, _): return .value(path, version: secret.version, isField: false)
        case .field(_, _, let secret, _): return .value(path, version: secret.version, isField: true)
        default: return key
        }
    }

    // MARK: Resolving nodes

    func resolve(_ key: NodeKey, outcome: OutcomeRecorder? = nil) async throws -> Node {
        switch key {
        case .path(let path):
            return try await resolvePath(path, outcome: outcome)
        case .value(let path, let version, let isField):
            return try await resolveValue(path, version: version, isField: isField, outcome: outcome)
        case .versionsRoot(let folder):
            guard capabilities.contains(.versions), case .folder(_, true, _, _) = try await resolvePath(folder) else {
                throw SecretError.notFound(folder, "no versions here")
            }
            return .versionsRoot(folder: folder)
        case .versions(let secret):
            _ = try await store.versions(of: secret)
            return .versions(of: secret)
        case .version(let secret, let id):
            let version = try await read(secret, version: id, outcome: outcome)
            switch version.content {
            case .value(let value): return .versionFile(of: secret, id: id, version, value)
            case .fields(let fields): return .versionFolder(of: secret, id: id, version, fields)
            }
        case .versionField(let secret, let id, let field):
            let version = try await read(secret, version: id, outcome: outcome)
            guard case .fields(let fields) = version.content, let value = fields[field] else {
                throw SecretError.notFound(secret, "no such field")
            }
            return .versionField(of: secret, id: id, name: field, version, value)
        case .label(let secret, let label):
            let versions = try await store.versions(of: secret)
            guard let target = versions.first(where: { $0.labels.contains(label) }) else {
                throw SecretError.notFound(secret, "no such label")
            }
            return .label(of: secret, label: label, target: target.id)
        case .rotate(let folder):
            guard case .folder = try await resolvePath(folder) else {
                throw SecretError.notFound(folder, "not a folder")
            }
            return .rotate(folder: folder)
        case .status:
            return .status
        case .metrics:
            return .metrics
        }
    }

    /// Decides what a path is now: a secret is looked for among its parent's listed secrets, then
    /// its folders, then the fields of a multi-field parent, and last by reading it, for stores
    /// where a name has several spellings (env).
    func resolvePath(_ path: SecretPath, outcome: OutcomeRecorder? = nil) async throws -> Node {
        guard let parent = path.parent else { return .folder(.root, isPrefix: true, secret: nil, fields: nil) }
        let listing = try await store.list(parent)
        let isPrefix = listing.folders.contains(path.name)
        if listing.secrets.contains(path.name) {
            do {
                return try await node(reading: path, isPrefix: isPrefix, outcome: outcome)
            } catch let error as SecretError where error.code == .notFound && isPrefix {
                // Deleted since the listing; the prefix folder remains.
            }
        }
        if isPrefix { return .folder(path, isPrefix: true, secret: nil, fields: nil) }
        if !parent.isRoot,
            case .folder(_, _, let secret?, let fields?) = try? await resolvePath(parent, outcome: outcome),
            let value = fields[path.name]
        {
            return .field(of: parent, name: path.name, secret, value)
        }
        return try await node(reading: path, isPrefix: false, outcome: outcome)
    }

    /// A value file as of one version: the current node while that version is current (no extra
    /// backend call), else that version read from the store, for descriptors still open on it.
    private func resolveValue(
        _ path: SecretPath, version: String, isField: Bool, outcome: OutcomeRecorder?
    ) async throws -> Node {
        if let current = try? await resolvePath(path, outcome: outcome), current.value != nil,
            current.secret?.version == version
        {
            return current
        }
        if isField, let parent = path.parent {
            let secret = try await read(parent, version: version, outcome: outcome)
            guard case .fields(let fields) = secret.content, let value = fields[path.name] else {
                throw SecretError.notFound(path, "no such field in that version")
            }
            return .field(of: parent, name: path.name, secret, value)
        }
        let secret = try await read(path, version: version, outcome: outcome)
        guard case .value(let value) = secret.content else {
            throw SecretError.notFound(path, "that version is not a file")
        }
        return .secretFile(path, secret, value)
    }

    private func node(reading path: SecretPath, isPrefix: Bool, outcome: OutcomeRecorder?) async throws -> Node {
        let secret = try await read(path, version: nil, outcome: outcome)
        switch secret.content {
        case .value(let value):
            if isPrefix {
                logCollisionOnce(path, "a secret and a folder share this name; the folder is shown")
                return .folder(path, isPrefix: true, secret: nil, fields: nil)
            }
            return .secretFile(path, secret, value)
        case .fields(let fields):
            return .folder(path, isPrefix: isPrefix, secret: secret, fields: fields)
        }
    }

    private func read(_ path: SecretPath, version: String?, outcome: OutcomeRecorder?) async throws -> Secret {
        guard let outcome else { return try await store.read(path, version: version) }
        let (secret, how) = try await store.readWithOutcome(path, version: version)
        outcome.value = how
        return secret
    }

    func logCollisionOnce(_ path: SecretPath, _ message: Logger.Message) {
        if loggedCollisions.first(path.string) { logger.warning(message, metadata: ["path": "\(path)"]) }
    }

    /// A name is metadata, not a value, but may be long or odd: the log gets its start, escaped.
    func logSkippedNameOnce(_ name: String, in folder: SecretPath) {
        guard loggedNames.first("\(folder.string)\u{0}\(name)") else { return }
        logger.warning(
            "name cannot be shown as a file name; skipped",
            metadata: [
                "folder": "\(folder)", "name": "\(name.prefix(64).debugDescription)", "bytes": "\(name.utf8.count)",
            ])
    }

    // MARK: Attributes

    func attributes(of node: Node, inode: UInt64, pid: Int32) async throws -> NodeAttributes {
        if let attributes = storedAttributes(of: node, inode: inode) { return attributes }
        var attributes = NodeAttributes(
            inode: inode, type: .file, permissions: 0o444, size: 0, modified: mountedAt, uid: options.uid,
            gid: options.gid)
        if case .rotate = node { attributes.permissions = 0o600 }
        let snapshot = try await generatedSnapshot(of: node, inode: inode, pid: pid)
        attributes.size = snapshot.bytes.count
        attributes.modified = snapshot.made
        return attributes
    }

    /// The attributes a node alone decides; nil for a generated file (`.rotate`, `.status`,
    /// `.metrics`), whose size depends on who asks and when.
    func storedAttributes(of node: Node, inode: UInt64) -> NodeAttributes? {
        var attributes = NodeAttributes(
            inode: inode, type: .file, permissions: options.fileMode, size: 0,
            modified: node.secret?.createdAt ?? mountedAt, uid: options.uid, gid: options.gid)
        switch node {
        case .folder, .versionsRoot, .versions, .versionFolder:
            attributes.type = .directory
            attributes.permissions = options.dirMode
        case .label(_, _, let target):
            attributes.type = .symlink
            attributes.permissions = 0o777
            attributes.size = target.utf8.count
        case .rotate, .status, .metrics:
            return nil
        default:
            attributes.size = node.value?.count ?? 0
        }
        return attributes
    }

    /// The bytes of a generated file as one process sees them now: made anew unless this
    /// process had them made a moment ago (see `GeneratedSnapshots`).
    func generatedSnapshot(of node: Node, inode: UInt64, pid: Int32) async throws -> GeneratedSnapshots.Snapshot {
        let now = clock.monotonicNow()
        if let recent = generated.recent(inode: inode, pid: pid, now: now) { return recent }
        let generation = generated.generation
        let bytes: [UInt8]
        if case .rotate(let folder) = node {
            bytes = rotations.lines(under: folder)
        } else {
            bytes = try await document(for: node)
        }
        // Dated when made, not when asked for: a `.status` that waited on a slow backend's health must
        // still be the one the next read of this process gets, or the read would not match the size.
        return generated.store(
            inode: inode, pid: pid, bytes: SecretValue(bytes: bytes), made: clock.wallNow(), now: clock.monotonicNow(),
            madeAt: generation)
    }

    /// Generated files change on every read, so the kernel keeps no attributes for them.
    func timeout(for node: Node) -> Double {
        switch node {
        case .status, .metrics, .rotate: return 0
        default: return options.kernelCacheTimeout
        }
    }

    // MARK: Kernel cache

    /// Maps a change the cache saw to what the kernel may hold for it. A value file's name is
    /// dropped from its folder, so the next lookup finds the new version's inode; the old inode's
    /// pages go too (a descriptor still open on it reads its own version again from here).
    func cacheChanged(_ key: CacheKey) {
        changes.add(1, ordering: .sequentiallyConsistent)
        let kernel = invalidator.withLock { $0 }
        var affected: [(NodeKey, UInt64)]
        var oldValues: [UInt64] = []
        switch key {
        case .secret(let path, _), .versions(let path):
            affected = inodes.inodes { node in
                switch node {
                case .path(let p), .value(let p, _, _): return p == path || p.parent == path
                case .versions(let p), .label(let p, _): return p == path
                default: return false
                }
            }
            oldValues = shownValues.take { $0 == path || $0.parent == path }
        case .listing(let folder):
            affected = inodes.inodes { node in
                if case .path(folder) = node { return true }
                if case .versionsRoot(folder) = node { return true }
                return false
            }
        }
        var names = Set<SecretPath>()
        affected.removeAll { node, _ in
            guard case .value(let path, _, _) = node else { return false }
            names.insert(path)
            return true
        }
        // Names first: from the moment the name is dropped, new opens reach the new version.
        for path in names {
            guard let parent = path.parent, let folder = inodes.existingInode(for: .path(parent)) else { continue }
            kernel?.invalidateEntry(parent: folder, name: path.name)
        }
        for inode in affected.map(\.1) + oldValues {
            hotNodes.forget(inode)
            kernel?.invalidateInode(inode)
        }
    }

    /// Waits until the kernel has acted on every invalidation sent so far.
    func kernelCaughtUp() async {
        await invalidator.withLock { $0 }?.flush()
    }
}

extension SecretsFileSystem {
    public var backendName: String { store.descriptor.backend }
}
