import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

/// Issue 11: a rotation is seen by the next open, one open sees one version, odd names are skipped,
/// `.versions` is hidden. The same checks through a real mount are in Tests/MountTests/test_consistency.py.
@Suite struct ConsistencyTests {
    func rotate(_ f: Fixture, _ folder: String, _ line: String) async throws {
        let control = try await f.lookup(folder.isEmpty ? ".rotate" : "\(folder)/.rotate").attributes.inode
        _ = try await f.fs.write(control, handle: 0, data: Array(line.utf8), context: f.context).value
    }

    @Test func aChangedValueGetsANewInodeAndTheOldOneKeepsItsVersion() async throws {
        let f = Fixture()
        let kernel = RecordingInvalidator()
        await f.fs.attach(kernel)
        let old = try await f.lookup("openai/api_key").attributes.inode
        #expect(try await f.lookup("openai/api_key").attributes.inode == old, "same version, same inode")
        try await rotate(f, "openai", "api_key")

        // The name was dropped from its folder, and the kernel had acted on it when the write returned.
        let folder = try await f.lookup("openai").attributes.inode
        #expect(kernel.entries.withLock { $0 }.contains("\(folder)/api_key"))
        #expect(kernel.pending.withLock { $0 } == 0)

        let new = try await f.lookup("openai/api_key")
        #expect(new.attributes.inode != old)
        #expect(new.attributes.size == 32)
        // A descriptor opened on the old inode without a handle (the kernel opened on its own) reads
        // the old version whole, and its attributes still say so.
        #expect(
            try await f.fs.read(old, handle: 0, offset: 0, size: 100, context: f.context).value
                == Array("current-value".utf8))
        #expect(
            try await f.fs.read(old, handle: 0, offset: 8, size: 100, context: f.context).value == Array("value".utf8))
        #expect(try await f.fs.getattr(old, context: f.context).value.attributes.size == 13)
        let value = try await f.fs.read(new.attributes.inode, handle: 0, offset: 0, size: 100, context: f.context).value
        #expect(value.count == 32 && value != Array("current-value".utf8))
    }

    @Test func aFieldGetsANewInodeWhenItsSecretChanges() async throws {
        let f = Fixture()
        let password = try await f.lookup("db/password").attributes.inode
        let username = try await f.lookup("db/username").attributes.inode
        try await rotate(f, "db", "password")
        #expect(try await f.lookup("db/password").attributes.inode != password)
        #expect(
            try await f.fs.read(password, handle: 0, offset: 0, size: 100, context: f.context).value
                == Array("pw-1".utf8))
        // The other field is kept as it was, under the secret's new version.
        let newUsername = try await f.lookup("db/username").attributes.inode
        #expect(newUsername != username)
        #expect(
            try await f.fs.read(newUsername, handle: 0, offset: 0, size: 100, context: f.context).value
                == Array("alice".utf8))
    }

    @Test func aNodeResolvedBeforeAnInvalidationIsNotKept() {
        let nodes = NodeCache()
        let key = NodeCache.Key(inode: 42)
        let status = Node.control(ControlNode(id: ControlFiles.named(".status", in: .root)!, folder: .root))
        let before = nodes.generation
        nodes.invalidate([42])
        #expect(!nodes.store(key, .node(status), until: .seconds(10), resolvedAt: before))
        #expect(nodes.node(42, now: .zero) == nil)
        #expect(nodes.store(key, .node(status), until: .seconds(10), resolvedAt: nodes.generation))
        #expect(nodes.node(42, now: .zero) != nil)
        // An invalidation of another inode leaves this one's store alone.
        let other = nodes.generation
        nodes.invalidate([7])
        #expect(nodes.store(NodeCache.Key(inode: 43), .node(status), until: .seconds(10), resolvedAt: other))
        let later = nodes.generation
        nodes.invalidateAll()
        #expect(!nodes.store(NodeCache.Key(inode: 44), .node(status), until: .seconds(10), resolvedAt: later))
        #expect(nodes.node(42, now: .zero) == nil && nodes.node(43, now: .zero) == nil)
    }

    /// The ordering the node cache exists to refuse: an open resolves a value, the store reports a
    /// change meanwhile, and only then would the open keep what it resolved.
    @Test func aValueResolvedBeforeAChangeIsNotKeptAfterIt() async throws {
        let store = MemoryStore()
        store.seed("top", .value(SecretValue(string: "value")))
        let clock = ManualTimeSource()
        // Nothing cached in the store: every resolution reaches it, and can be made to wait there.
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: .zero), clock: clock, logger: Logger(label: "test"))
        let fs = SecretsFileSystem(
            store: cache, options: FileSystemOptions(uid: 0, gid: 0, audit: RecordingAudit()), clock: clock,
            logger: Logger(label: "test"))
        let context = RequestContext(uid: 0, gid: 0, pid: 1)
        let inode = try await fs.lookup(parent: SecretsFileSystem.rootInode, name: "top", context: context).value
            .attributes.inode
        for change in [false, true] {
            clock.advance(by: .seconds(2))
            #expect(fs.read(inode, handle: 0, offset: 0, size: 100, context: context).immediate == nil)
            store.stallReads()
            let open = Task { try await fs.open(inode, writing: false, context: context).value }
            await store.untilAReadWaits()
            if change { fs.kernel.changed(.secret(try SecretPath("top"), version: nil)) }
            store.releaseReads()
            fs.release(try await open.value.handle)
            let kept = fs.read(inode, handle: 0, offset: 0, size: 100, context: context).immediate
            #expect((kept != nil) == !change, change ? "resolved before the change: not kept" : "kept")
            store.readsWaiting.store(0, ordering: .relaxed)
        }
    }

    @Test func aDocumentMadeBeforeARotationIsNotKept() {
        let nodes = NodeCache()
        let key = NodeCache.Key(inode: 5, reader: 1)
        let old = NodeCache.Document(bytes: SecretValue(string: "old"), made: Date())
        let before = nodes.generation
        nodes.invalidateAll()
        #expect(!nodes.store(key, .document(old), until: .seconds(1), resolvedAt: before))
        #expect(nodes.document(5, reader: 1, now: .zero) == nil)
        #expect(nodes.store(key, .document(old), until: .seconds(1), resolvedAt: nodes.generation))
        #expect(nodes.document(5, reader: 1, now: .zero)?.bytes == SecretValue(string: "old"))
        #expect(nodes.document(5, reader: 2, now: .zero) == nil, "kept for the process it was made for")
    }

    @Test func oddFieldNamesAreSkippedNotFatal() async throws {
        let f = Fixture()
        f.store.seed(
            "multi",
            .fields([
                ".rotate": SecretValue(string: "x"), "a/b": SecretValue(string: "y"), "": SecretValue(string: "z"),
                String(repeating: "n", count: 300): SecretValue(string: "w"), "good": SecretValue(string: "g"),
            ]))
        for _ in 0..<2 {
            #expect(try await f.names("multi") == [".", "..", "good", ".rotate"])
        }
        #expect(try await f.readAll("multi/good") == Array("g".utf8))
        #expect(try await f.names(".versions/multi/1") == [".", "..", "good"])
    }

    @Test func versionsIsHiddenFromListingsUnlessShown() async throws {
        let f = Fixture()
        #expect(try await !f.names("openai").contains(".versions"))
        #expect(try await f.names("openai/.versions") == [".", "..", "api_key"], "it still opens by name")

        let store = MemoryStore()
        store.seed("openai/api_key", .value(SecretValue(string: "v")))
        var options = FileSystemOptions(uid: 0, gid: 0)
        options.showVersions = true
        let fs = SecretsFileSystem(
            store: CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t")),
            options: options, clock: SystemTimeSource(), logger: Logger(label: "t"))
        let openai = try await fs.lookup(parent: 1, name: "openai", context: .unknown).value.attributes.inode
        let open = try await fs.opendir(openai, context: .unknown).value
        #expect(
            try await fs.readdir(openai, handle: open.handle, offset: 0, context: .unknown).value.map(\.name).contains(
                ".versions"))
    }

    @Test func aFolderTheCallerCanOpenNothingInIsNotListed() async throws {
        let store = MemoryStore()
        store.seed("db/password", .value(SecretValue(string: "p")))
        store.seed("pub/key", .value(SecretValue(string: "k")))
        let root = Caller(uid: 0, gid: 0, pid: 1)
        let nobody = Caller(uid: 65534, gid: 65534, pid: 2)
        let options = FileSystemOptions(
            uid: 0, gid: 0, policy: AccessPolicy(rules: [.init(path: "db/**", uids: [0]), .init(path: "**")]),
            callers: FixedCallers(callers: [0: root, 65534: nobody]))
        let fs = SecretsFileSystem(
            store: CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t")),
            options: options, clock: SystemTimeSource(), logger: Logger(label: "t"))
        func rootNames(_ uid: UInt32) async throws -> [String] {
            let open = try await fs.opendir(1, context: RequestContext(uid: uid, gid: uid, pid: 1)).value
            return try await fs.readdir(
                1, handle: open.handle, offset: 0, context: RequestContext(uid: uid, gid: uid, pid: 1)
            ).value.map(\.name)
        }
        #expect(try await !rootNames(65534).contains("db"))
        #expect(try await rootNames(65534).contains("pub"))
        #expect(try await rootNames(0).contains("db"))
    }
}
