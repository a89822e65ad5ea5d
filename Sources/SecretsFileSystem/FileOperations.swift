import SecretsCore

/// OPEN, READ, WRITE and RELEASE of files.
extension SecretsFileSystem {
    /// Now for a value file whose node was resolved a moment ago; later when the store must be asked.
    public func open(_ inode: UInt64, writing: Bool, context: RequestContext) -> Answer<OpenReply> {
        if writing, isAnnouncement(inode, context, label: false) {
            // Keeps the pages other readers have.
            return .now(.success(OpenReply(handle: 0, directIO: false, keepCache: true)))
        }
        let key: NodeKey
        let caller: Caller?
        do {
            key = try resolver.key(inode)
            caller = try self.caller(context, needed: options.checksEveryOpen)
        } catch {
            return .now(.failure(error))
        }
        if let control = key.control, let opener = control.file as? any ControlFileOpener {
            return opener.open(in: self, writing: writing, caller: caller)
        }
        if let node = nodes.nodeForOpen(inode, now: clock.monotonicNow(), once: readsPerOpen) {
            return .immediately { try openValue(key, node, caller: caller, outcome: .hit, writing: writing) }
        }
        return .later { [self] in
            let outcome = OutcomeRecorder()
            let generation = nodes.generation
            let node: Node
            do {
                // Judged on the path alone, before any fetch: a refused caller costs the backend nothing.
                try checkPolicy(key, caller)
                node = try await resolver.resolve(key, outcome: outcome)
            } catch {
                if let caller, key.mayShowValue { audit(.open, key, nil, caller, outcome.value, error: error) }
                throw error
            }
            if let control = node.generated {
                // A handle on the bytes made for this opener: a read of it sees one document.
                guard !writing || control.id.file is any ControlFileWriter else {
                    throw SecretError(.readOnly, "read-only file")
                }
                let bytes = try await generatedDocument(of: node, inode: inode, reader: context).bytes
                return OpenReply(handle: handles.insert(.bytes(bytes)), directIO: true, keepCache: false)
            }
            keep(inode, node, outcome.value, resolvedAt: generation, opened: true)
            return try openValue(key, node, caller: caller, outcome: outcome.value, writing: writing)
        }
    }

    /// The end of every open of a value file: policy, audit, a handle holding the bytes.
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
            let direct = options.caching == .direct
            return OpenReply(handle: handles.insert(.bytes(value)), directIO: direct, keepCache: !direct)
        } catch {
            if let caller { audit(.open, key, nil, caller, outcome, error: error) }
            throw error
        }
    }

    /// Now when the bytes are in memory: an open handle's, or a value node resolved a moment ago
    /// (the kernel filling its page cache for a file it opened without asking). Later otherwise.
    public func read(
        _ inode: UInt64, handle: UInt64, offset: Int, size: Int, nonBlocking: Bool = false, context: RequestContext
    ) -> Answer<[UInt8]> {
        switch handles.get(handle) {
        case .events(let stream)?:
            return readEvents(stream, size: size, nonBlocking: nonBlocking)
        case .bytes(let value)?:
            return .now(.success(value.slice(offset: offset, length: size)))
        case .directory?:
            return .now(.failure(SecretError(.invalidArgument, "is a folder")))
        case nil:
            // A stream an earlier worker opened: adopted under the kernel's handle.
            if let stream = eventStream(inode, handle: handle, context: context) {
                return readEvents(stream, size: size, nonBlocking: nonBlocking)
            }
        }
        // A read of no open this worker checked (an earlier worker's descriptor) is judged as an open
        // would be: after a reload, the policy now on disk decides (DESIGN §10).
        if options.policy != nil {
            do {
                try checkPolicy(try resolver.key(inode), try caller(context, needed: true))
            } catch {
                return .now(.failure(error))
            }
        }
        // A read with no handle belongs to no open this worker saw: where each open reads the store, it does too.
        if !readsPerOpen, let value = kept(inode)?.node.value {
            return .now(.success(value.slice(offset: offset, length: size)))
        }
        // No handle of this worker's (the kernel opened without asking, or an earlier worker opened
        // it): read what the node holds now.
        return .later { [self] in
            let node = try await resolver.resolve(try resolver.key(inode))
            if let value = node.value { return value.slice(offset: offset, length: size) }
            let document = try await generatedDocument(of: node, inode: inode, reader: context)
            return document.bytes.slice(offset: offset, length: size)
        }
    }

    /// A write to a control file that takes them (`.rotate`); every other file is read-only.
    public func write(_ inode: UInt64, handle: UInt64, data: [UInt8], context: RequestContext) -> Answer<Int> {
        guard let (file, folder) = inodes.key(for: inode)?.control, let writer = file as? any ControlFileWriter
        else {
            let stale = inodes.key(for: inode) == nil
            return .now(
                .failure(
                    stale
                        ? SecretError(.notFound, "stale inode")
                        : SecretError(.readOnly, "secrets are read-only; write paths to .rotate")))
        }
        let caller: Caller?
        do {
            caller = try self.caller(context, needed: options.checksEveryOpen)
        } catch {
            return .now(.failure(error))
        }
        return writer.write(in: self, folder: folder, data: data, caller: caller)
    }

    /// Ends a file's or a folder's handle.
    @discardableResult
    public func release(_ handle: UInt64) -> Answer<Void> {
        if case .events(let stream)? = handles.remove(handle) { stream.close() }
        return .now(.success(()))
    }
}
