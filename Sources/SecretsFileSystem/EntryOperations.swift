import Foundation
import SecretsCore

/// LOOKUP, GETATTR, SETATTR and READLINK: names and what `stat` shows.
extension SecretsFileSystem {
    public func lookup(parent: UInt64, name: String, context: RequestContext) -> Answer<EntryReply> {
        .later { [self] in
            let childKey = try await resolver.childKey(of: try resolver.key(parent), named: name)
            var reply = try await entry(childKey, context: context)
            reply.pages = pagesForKernel(reply.attributes.inode)
            return reply
        }
    }

    /// The largest value whose pages go to the kernel with its entry: secrets are small, and a large
    /// file looked up by `stat` alone should not fill memory nobody reads.
    static let largestPagesForKernel = 64 * 1024

    /// What the kernel may keep of a value file from its lookup on: where it opens files without asking
    /// (`CachingMode.kernelOpens`), the first read would fill its page cache with exactly these
    /// bytes, from the node just kept for that READ. With the entry, that READ's round trip is gone
    /// from every first read (DESIGN §1.1 is unchanged: no open was going to reach the daemon).
    public func pagesForKernel(_ inode: UInt64) -> SecretValue? {
        guard options.caching == .kernelOpens, let value = kept(inode)?.node.value, !value.isEmpty,
            value.count <= Self.largestPagesForKernel
        else { return nil }
        return value
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
            let numbered = node.numbered(childKey)
            inode = inodes.inode(for: numbered)
            if let path = numbered.valuePath { kernel.shown(inode, for: path) }
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
        if let (node, left) = kept(inode), let attributes = node.attributes(in: self, inode: inode) {
            return .now(
                .success(
                    AttributeReply(attributes: attributes, timeout: min(node.kernelTimeout(in: self), left.seconds))))
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
        guard inodes.key(for: inode)?.control?.file is any ControlFileWriter, size == 0,
            !otherChanges
        else {
            return .now(.failure(SecretError(.readOnly, "read-only file system")))
        }
        return getattr(inode, context: context)
    }

    public func readlink(_ inode: UInt64) -> Answer<String> {
        .later { [self] in
            guard let target = try await resolver.resolve(try resolver.key(inode)).target else {
                throw SecretError(.invalidArgument, "not a symlink")
            }
            return target
        }
    }

    // MARK: Attributes

    func attributes(of node: Node, inode: UInt64, reader: RequestContext) async throws -> NodeAttributes {
        if let attributes = node.attributes(in: self, inode: inode) { return attributes }
        let document = try await generatedDocument(of: node, inode: inode, reader: reader)
        return NodeAttributes(
            inode: inode, type: .file, permissions: node.generated?.id.file.permissions ?? 0o444,
            size: document.bytes.count, modified: document.made, uid: options.uid, gid: options.gid)
    }

    /// How long the kernel may keep a node's name and attributes: the node's own timeout, but for a
    /// current value no longer than its cached answer stays fresh (the TTL less its random spread,
    /// `--refresh-jitter`), so the kernel asks again when the cache would fetch again, and mounts
    /// started together do not all ask, and so fetch, in the same second.
    func kernelTimeout(for node: Node) async -> Double {
        let timeout = node.kernelTimeout(in: self)
        guard timeout > 0, let current = node.current,
            let left = await store.freshLeft(.secret(current.secret, version: nil))
        else { return timeout }
        return min(timeout, left.seconds)
    }
}
