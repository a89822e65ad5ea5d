import SecretsCore

/// OPEN, READ, WRITE and RELEASE of files.
extension SecretsFileSystem {
    /// Now for a value file whose node was resolved a moment ago; later when the store must be asked.
    public func open(_ inode: UInt64, writing: Bool, context: RequestContext) -> Answer<OpenReply> {
        let key: NodeKey
        let caller: Caller?
        do {
            key = try resolver.key(inode)
            caller = try self.caller(context, needed: options.checksEveryOpen)
        } catch {
            return .now(.failure(error))
        }
        if key == .events {
            guard options.events else { return .now(.failure(SecretError.eventsNeedOpens)) }
            guard !writing else { return .now(.failure(SecretError(.readOnly, "read-only file"))) }
            let handle = handles.insert(.events(newEventStream(for: caller)))
            return .now(.success(OpenReply(handle: handle, directIO: true, keepCache: false, nonSeekable: true)))
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
                if let caller, Self.isValueNode(key) { audit(.open, key, nil, caller, outcome.value, error: error) }
                throw error
            }
            switch node {
            case .rotate(let folder):
                try checkPolicy(key, caller)
                let history = try await generatedDocument(of: node, inode: inode, reader: context).bytes
                return OpenReply(
                    handle: handles.insert(.rotate(folder: folder, history: history)), directIO: true,
                    keepCache: false)
            case .status, .metrics:
                guard !writing else { throw SecretError(.readOnly, "read-only file") }
                let bytes = try await generatedDocument(of: node, inode: inode, reader: context).bytes
                return OpenReply(handle: handles.insert(.bytes(bytes)), directIO: true, keepCache: false)
            default:
                keep(inode, node, outcome.value, resolvedAt: generation, opened: true)
                return try openValue(key, node, caller: caller, outcome: outcome.value, writing: writing)
            }
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
        case .bytes(let value)?, .rotate(_, let value)?:
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

    public func write(_ inode: UInt64, handle: UInt64, data: [UInt8], context: RequestContext) -> Answer<Int> {
        guard case .rotate(let folder)? = inodes.key(for: inode) else {
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
        return .later { [self] in
            do {
                try await rotate(lines: data, in: folder, caller: caller)
            } catch {
                await kernel.caughtUp()
                throw error
            }
            // The shell's next command must see the new value: the kernel forgets the old one before
            // the write is answered, not some time after.
            await kernel.caughtUp()
            return data.count
        }
    }

    /// Ends a file's or a folder's handle.
    @discardableResult
    public func release(_ handle: UInt64) -> Answer<Void> {
        if case .events(let stream)? = handles.remove(handle) { stream.close() }
        return .now(.success(()))
    }
}
