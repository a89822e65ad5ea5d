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

    /// What a folder lists to the caller now: the entries OPENDIR keeps in its handle.
    private func folderEntries(_ inode: UInt64, context: RequestContext) async throws -> [DirectoryEntry] {
        let key = try resolver.key(inode)
        let node = try await resolver.resolve(key)
        guard node.isDirectory else { throw SecretError(.invalidArgument, "not a folder") }
        let caller = try caller(context, needed: options.policy != nil)
        return try await directoryEntries(of: node, key: key, inode: inode, caller: caller)
    }
}
