import SecretsCore

/// OPENDIR and READDIR.
extension SecretsFileSystem {
    public func opendir(_ inode: UInt64, context: RequestContext) -> Answer<OpenReply> {
        .later { [self] in
            let entries = try await folderEntries(inode, context: context)
            return OpenReply(handle: handles.insert(.directory(entries)), directIO: false, keepCache: false)
        }
    }

    /// The entries after `offset`: now from this worker's handle; later for a folder an earlier
    /// worker opened, listed anew from its inode (the offsets of a listing are positions in its
    /// sorted entries, so the reader goes on where it was).
    public func readdir(
        _ inode: UInt64, handle: UInt64, offset: Int, context: RequestContext
    ) -> Answer<ArraySlice<DirectoryEntry>> {
        switch handles.get(handle) {
        case .directory(let entries)?:
            return .now(.success(entries.dropFirst(max(offset, 0))))
        case nil:
            return .later { [self] in try await folderEntries(inode, context: context).dropFirst(max(offset, 0)) }
        default:
            return .now(.failure(SecretError(.invalidArgument, "folder not open")))
        }
    }

    /// Whether READDIRPLUS can give attributes at all: at `--cache-ttl 0` the kernel keeps none, and
    /// the cache no value, so plain READDIR answers the same for less.
    public var listsWithAttributes: Bool { options.kernelCacheTimeout > 0 }

    /// READDIRPLUS: the entries after `offset` that fit in `size` bytes (each costing `entrySize`
    /// of its name), each with what LOOKUP would answer for it, where the cache has that without a
    /// backend call: a folder, or a secret whose value the listing brought (the local store, SSM)
    /// or a read kept. Plain names otherwise, and for `.` and `..`, generated files (their
    /// attributes live for no time, the kernel asks again anyway), rendered files (made from
    /// reads) and everything under `.versions` (each name a listing of versions or a read).
    /// Every name given with attributes counts as a lookup, as the kernel counts it.
    public func readdirplus(
        _ inode: UInt64, handle: UInt64, offset: Int, size: Int, entrySize: @escaping @Sendable (String) -> Int,
        context: RequestContext
    ) -> Answer<[DirectoryPlusEntry]> {
        let listed: [DirectoryEntry]?
        switch handles.get(handle) {
        case .directory(let entries)?: listed = entries
        case nil: listed = nil
        default: return .now(.failure(SecretError(.invalidArgument, "folder not open")))
        }
        return .later { [self] in
            var entries: ArraySlice<DirectoryEntry>
            if let listed {
                entries = listed.dropFirst(max(offset, 0))
            } else {
                entries = try await folderEntries(inode, context: context).dropFirst(max(offset, 0))
            }
            var used = 0
            var fitting = 0
            for entry in entries {
                used += entrySize(entry.name)
                if used > size { break }
                fitting += 1
            }
            entries = entries.prefix(fitting)
            let folder = try resolver.key(inode)
            var answer: [DirectoryPlusEntry] = []
            answer.reserveCapacity(entries.count)
            for entry in entries {
                answer.append(
                    DirectoryPlusEntry(entry: entry, lookup: await plusLookup(entry.name, in: folder, context)))
            }
            return answer
        }
    }

    /// What LOOKUP answers for `name` in `folder` when the cache has it now; nil where it would cost a
    /// backend read, or answers nothing a kernel would keep.
    private func plusLookup(_ name: String, in folder: NodeKey, _ context: RequestContext) async -> EntryReply? {
        guard listsWithAttributes, case .path = folder, name != ".", name != ".." else { return nil }
        guard let key = try? await resolver.childKey(of: folder, named: name) else { return nil }
        switch key {
        case .path, .versionsRoot: break
        default: return nil
        }
        return try? await entry(key, context: context, keptOnly: true)
    }

    /// What a folder lists to the caller now: the entries OPENDIR keeps in its handle.
    private func folderEntries(_ inode: UInt64, context: RequestContext) async throws -> [DirectoryEntry] {
        let key = try resolver.key(inode)
        let node = try await resolver.resolve(key)
        guard node.isDirectory else { throw SecretError(.invalidArgument, "not a folder") }
        let caller = try caller(context, needed: options.policy != nil)
        return try await directoryEntries(of: node, key: key, inode: inode, caller: caller)
    }
}
