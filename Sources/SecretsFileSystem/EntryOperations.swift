import Foundation
import SecretsCore

/// LOOKUP, GETATTR, SETATTR and READLINK: names and what `stat` shows.
extension SecretsFileSystem {
    public func lookup(parent: UInt64, name: String, context: RequestContext) -> Answer<EntryReply> {
        .later { [self] in
            let childKey = try await resolver.childKey(of: try resolver.key(parent), named: name)
            return try await entry(childKey, context: context)
        }
    }

    /// What LOOKUP answers for `childKey`, and READDIRPLUS for each name it gives with attributes:
    /// the kernel counts either answer as one lookup of the inode (a FORGET returns it), so both
    /// record it here, once per answer. `keptOnly` (READDIRPLUS): resolved from what the cache
    /// keeps alone; throws `Resolver.notKept` rather than read a value from the store.
    func entry(_ childKey: NodeKey, context: RequestContext, keptOnly: Bool = false) async throws -> EntryReply {
        var tries = 0
        var outcome: OutcomeRecorder
        var generation: UInt64
        var node: Node
        var inode: UInt64
        repeat {
            tries += 1
            outcome = OutcomeRecorder(keptOnly: keptOnly)
            generation = nodes.generation
            let seen = kernel.changeCount
            node = try await resolver.resolve(childKey, outcome: outcome)
            let numbered = Resolver.numbered(childKey, node)
            inode = inodes.inode(for: numbered)
            if case .value(let path, _, _) = numbered { kernel.shown(inode, for: path) }
            // A change that came while this resolved may not have seen the number just made, so
            // could not tell the kernel to drop it: resolve again rather than hand out an old
            // version. (A change after this check sees the number and drops the name once this
            // reply is in.)
            if kernel.changeCount == seen { break }
        } while tries < 3
        keep(inode, node, outcome.value, resolvedAt: generation)
        let attributes = try await attributes(of: node, inode: inode, reader: context)
        let kept = await kernelTimeout(for: node)
        return EntryReply(
            attributes: attributes, entryTimeout: min(options.kernelCacheTimeout, kept), attributeTimeout: kept)
    }

    /// Now for a value resolved a moment ago: with direct I/O the kernel forgets a file's atime after
    /// every read, so each `fstat` (Python's `open` makes one) comes here. The kernel may keep those
    /// attributes only while the node is kept: a GETATTR is also how the kernel revalidates a file
    /// once its attribute timeout (the TTL) has passed, and that one must reach the cache.
    public func getattr(_ inode: UInt64, context: RequestContext) -> Answer<AttributeReply> {
        if let (node, left) = kept(inode), let attributes = storedAttributes(of: node, inode: inode) {
            return .now(
                .success(AttributeReply(attributes: attributes, timeout: min(timeout(for: node), left.seconds))))
        }
        return .later { [self] in
            let node = try await resolver.resolve(try resolver.key(inode))
            let attributes = try await attributes(of: node, inode: inode, reader: context)
            return AttributeReply(attributes: attributes, timeout: await kernelTimeout(for: node))
        }
    }

    /// Truncation is how shells open `.rotate` for `>`; a change of `timesOnly` is an announcement's
    /// touch (`isAnnouncement`); anything else changes a read-only tree.
    public func setattr(
        _ inode: UInt64, truncatingTo size: Int?, otherChanges: Bool, timesOnly: Bool = false, context: RequestContext
    ) -> Answer<AttributeReply> {
        if timesOnly, isAnnouncement(inode, context, label: true) { return getattr(inode, context: context) }
        guard case .control(let id, _)? = inodes.key(for: inode), id.file is any ControlFileWriter, size == 0,
            !otherChanges
        else {
            return .now(.failure(SecretError(.readOnly, "read-only file system")))
        }
        return getattr(inode, context: context)
    }

    public func readlink(_ inode: UInt64) -> Answer<String> {
        .later { [self] in
            guard case .label(_, _, let target) = try await resolver.resolve(try resolver.key(inode)) else {
                throw SecretError(.invalidArgument, "not a symlink")
            }
            return target
        }
    }

    // MARK: Attributes

    func attributes(of node: Node, inode: UInt64, reader: RequestContext) async throws -> NodeAttributes {
        if let attributes = storedAttributes(of: node, inode: inode) { return attributes }
        var attributes = NodeAttributes(
            inode: inode, type: .file, permissions: 0o444, size: 0, modified: mountedAt, uid: options.uid,
            gid: options.gid)
        if case .control(let id, _) = node { attributes.permissions = id.file.permissions }
        let document = try await generatedDocument(of: node, inode: inode, reader: reader)
        attributes.size = document.bytes.count
        attributes.modified = document.made
        return attributes
    }

    /// The attributes a node alone decides; nil for a control file whose size depends on who asks
    /// and when (`.rotate`, `.status`, `.metrics`).
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
        case .control(let id, _):
            return id.file.attributes(in: self, inode: inode)
        case .rendered(let path, let output):
            return renderedAttributes(path, output, inode: inode)
        default:
            attributes.size = node.value?.count ?? 0
        }
        return withOwnership(attributes, of: node)
    }

    /// How long the kernel may keep a node's name and attributes: `timeout(for:)`, but for a value no
    /// longer than its cached answer stays fresh (the TTL less its random spread, `--refresh-jitter`),
    /// so the kernel asks again when the cache would fetch again, and mounts started together do not
    /// all ask, and so fetch, in the same second.
    func kernelTimeout(for node: Node) async -> Double {
        let timeout = timeout(for: node)
        let path: SecretPath
        switch node {
        case .secretFile(let secret, _, _): path = secret
        case .field(let parent, _, _, _): path = parent
        default: return timeout
        }
        guard timeout > 0, let left = await store.freshLeft(.secret(path, version: nil)) else { return timeout }
        return min(timeout, left.seconds)
    }

    /// Generated files change on every read, so the kernel keeps no attributes for them.
    func timeout(for node: Node) -> Double {
        switch node {
        case .control: return 0
        default: return options.kernelCacheTimeout
        }
    }
}
