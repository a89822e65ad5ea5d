import SecretsCore

/// The bytes of a control file (`.status`, `.metrics`, `.rotate`), made per reading process (see `NodeCache`).
extension SecretsFileSystem {
    /// The bytes of a generated file as one process sees them now: made anew unless this process
    /// had them made a moment ago.
    func generatedDocument(of node: Node, inode: UInt64, reader: RequestContext) async throws -> NodeCache.Document {
        if let recent = nodes.document(inode, reader: reader.pid, now: clock.monotonicNow()) { return recent }
        let generation = nodes.generation
        guard let control = node.generated else { throw SecretError(.invalidArgument, "not a generated file") }
        let bytes = try await control.id.file.contents(in: self, folder: control.folder, reader: reader)
        // Dated when made, not when asked for: a `.status` that waited on a slow backend's health must
        // still be the one the next read of this process gets, or the read would not match the size.
        let document = NodeCache.Document(bytes: SecretValue(bytes: bytes), made: clock.wallNow())
        let now = clock.monotonicNow()
        nodes.store(
            NodeCache.Key(inode: inode, reader: reader.pid), .document(document),
            until: now + NodeCache.documentLifetime,
            now: now, resolvedAt: generation)
        return document
    }
}
