import SecretsCore

/// `.events`: each open is a stream of the change events from then on (`EventStream`). Opened by
/// name only: a walker (`grep -r`, `rsync`) that read it would wait for ever.
struct EventsFile: ControlFileOpener {
    let name = ".events"
    let recordTag = "e"
    let listed = false

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        // A stream has no size. Where the kernel opens files without asking, a size makes it send
        // the READ that answers why `.events` cannot be read there; at 0 it would read nothing.
        NodeAttributes(
            inode: inode, type: .file, permissions: permissions, size: fs.options.caching == .kernelOpens ? 4096 : 0,
            modified: fs.mountedAt, uid: fs.options.uid, gid: fs.options.gid)
    }

    /// Only a file the kernel opened without asking is read without a handle: no stream was made.
    func contents(in fs: SecretsFileSystem, folder: SecretPath, reader: RequestContext) async throws -> [UInt8] {
        throw SecretError.eventsNeedOpens
    }

    func open(in fs: SecretsFileSystem, writing: Bool, caller: Caller?) -> Answer<OpenReply> {
        guard fs.options.events else { return .now(.failure(SecretError.eventsNeedOpens)) }
        guard !writing else { return .now(.failure(SecretError(.readOnly, "read-only file"))) }
        let handle = fs.handles.insert(.events(fs.newEventStream(for: caller)))
        return .now(.success(OpenReply(handle: handle, directIO: true, keepCache: false, nonSeekable: true)))
    }
}
