import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

final class RecordingInvalidator: KernelCacheInvalidator {
    let inodes = Mutex<[UInt64]>([])
    let entries = Mutex<[String]>([])
    /// Notices recorded but not yet acted on, as the FUSE layer's queue holds them until `flush`.
    let pending = Mutex(0)
    func invalidateInode(_ inode: UInt64) {
        inodes.withLock { $0.append(inode) }
        pending.withLock { $0 += 1 }
    }
    func invalidateEntry(parent: UInt64, name: String) {
        entries.withLock { $0.append("\(parent)/\(name)") }
        pending.withLock { $0 += 1 }
    }
    func flush() async { pending.withLock { $0 = 0 } }
}

struct Fixture {
    let store = MemoryStore()
    let clock = ManualTimeSource()
    let fs: SecretsFileSystem
    let context = RequestContext(uid: 0, gid: 0, pid: 1)

    init(ttl: Duration = .seconds(300), options: FileSystemOptions = FileSystemOptions(uid: 7, gid: 8)) {
        store.seed("openai/api_key", .value(SecretValue(string: "first-value")))
        store.seed("openai/api_key", .value(SecretValue(string: "current-value")))
        store.seed("db", .fields(["username": SecretValue(string: "alice"), "password": SecretValue(string: "pw-1")]))
        store.seed("top", .value(SecretValue(bytes: [0, 255, 1])))
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: ttl), clock: clock, logger: Logger(label: "test"))
        fs = SecretsFileSystem(
            store: cache, options: options, clock: clock, logger: Logger(label: "test"))
    }

    func lookup(_ path: String) async throws -> EntryReply {
        var parent = SecretsFileSystem.rootInode
        var reply: EntryReply?
        for name in path.split(separator: "/") {
            reply = try await fs.lookup(parent: parent, name: String(name), context: context).value
            parent = reply!.attributes.inode
        }
        return reply!
    }

    func readAll(_ path: String) async throws -> [UInt8] {
        let inode = try await lookup(path).attributes.inode
        let open = try await fs.open(inode, writing: false, context: context).value
        defer { fs.release(open.handle) }
        return try await fs.read(inode, handle: open.handle, offset: 0, size: 1 << 16, context: context).value
    }

    func names(_ path: String) async throws -> [String] {
        let inode = path.isEmpty ? SecretsFileSystem.rootInode : try await lookup(path).attributes.inode
        let open = try await fs.opendir(inode, context: context).value
        defer { fs.release(open.handle) }
        return try await fs.readdir(inode, handle: open.handle, offset: 0, context: context).value.map(\.name)
    }

    /// The bytes a read without a handle answers now, or nil when it would ask the store.
    func readNow(_ inode: UInt64, offset: Int, size: Int) -> [UInt8]? {
        try? fs.read(inode, handle: 0, offset: offset, size: size, context: context).immediate?.get()
    }

    func errno(_ body: () async throws -> Void) async -> Int32? {
        do {
            try await body()
            return nil
        } catch {
            return ErrnoMapping.errno(for: error)
        }
    }
}

@Suite struct FileSystemTests {
    @Test func secretFileAttributesAndBytes() async throws {
        let f = Fixture()
        let entry = try await f.lookup("openai/api_key")
        #expect(entry.attributes.type == .file)
        #expect(entry.attributes.size == 13)
        #expect(entry.attributes.permissions == 0o400)
        #expect(entry.attributes.uid == 7 && entry.attributes.gid == 8)
        #expect(entry.attributes.modified == Date(timeIntervalSince1970: 1_700_000_001))
        #expect(try await f.readAll("openai/api_key") == Array("current-value".utf8))
        #expect(try await f.readAll("top") == [0, 255, 1])
    }

    @Test func foldersFieldsAndDotNames() async throws {
        let f = Fixture()
        #expect(try await f.names("") == [".", "..", "db", "openai", "top", ".rotate", ".status", ".metrics"])
        #expect(try await f.names("db") == [".", "..", "password", "username", ".rotate"])
        #expect(try await f.lookup("db").attributes.type == .directory)
        #expect(try await f.readAll("db/password") == Array("pw-1".utf8))
        #expect(await f.errno { _ = try await f.lookup("openai/.status") } == ENOENT)
        #expect(await f.errno { _ = try await f.lookup(".hidden") } == ENOENT)
        #expect(await f.errno { _ = try await f.lookup("db/nofield") } == ENOENT)
        #expect(await f.errno { _ = try await f.lookup(String(repeating: "a", count: 256)) } == ENAMETOOLONG)
    }

    @Test func versionsAndLabels() async throws {
        let f = Fixture()
        #expect(try await f.names("openai/.versions") == [".", "..", "api_key"])
        #expect(try await f.names("openai/.versions/api_key") == [".", "..", "1", "previous", "2", "current"])
        let current = try await f.lookup("openai/.versions/api_key/current")
        #expect(current.attributes.type == .symlink)
        #expect(try await f.fs.readlink(current.attributes.inode).value == "2")
        #expect(try await f.readAll("openai/.versions/api_key/1") == Array("first-value".utf8))
        #expect(try await f.lookup(".versions/db/1").attributes.type == .directory)
        #expect(await f.errno { _ = try await f.lookup("openai/.versions/api_key/7") } == ENOENT)
    }

    @Test func rotationThroughControlFileReplacesValueAndInvalidatesKernel() async throws {
        let f = Fixture()
        let kernel = RecordingInvalidator()
        await f.fs.attach(kernel)
        let secretInode = try await f.lookup("openai/api_key").attributes.inode
        let rotate = try await f.lookup("openai/.rotate").attributes.inode
        let open = try await f.fs.open(rotate, writing: true, context: f.context).value
        #expect(
            try await f.fs.write(rotate, handle: open.handle, data: Array("api_key\n".utf8), context: f.context).value
                == 8)
        f.fs.release(open.handle)
        let value = try await f.readAll("openai/api_key")
        #expect(value.count == 32 && value != Array("current-value".utf8))
        try await Task.sleep(for: .milliseconds(10))
        #expect(kernel.inodes.withLock { $0.contains(secretInode) })
        let history = try await f.readAll("openai/.rotate")
        #expect(String(decoding: history, as: UTF8.self).contains("\"new_version\":\"3\""))
        #expect(!history.containsSubsequence(value))
    }

    @Test func theReadAfterAFirstLookupIsAnsweredWithoutTheStore() async throws {
        let f = Fixture()
        let inode = try await f.lookup("openai/api_key").attributes.inode
        #expect(f.readNow(inode, offset: 0, size: 100) == Array("current-value".utf8))
        #expect(f.readNow(inode, offset: 8, size: 3) == Array("val".utf8))
        // A folder has no bytes to keep; a field of a secret its folder's lookup fetched does.
        let folder = try await f.lookup("openai").attributes.inode
        #expect(f.readNow(folder, offset: 0, size: 100) == nil)
        let field = try await f.lookup("db/username").attributes.inode
        #expect(f.readNow(field, offset: 0, size: 100) == Array("alice".utf8))
        #expect(try f.fs.open(field, writing: false, context: f.context).immediate?.get() != nil)

        // Gone after a second, and at once when the value changes.
        f.clock.advance(by: .milliseconds(1001))
        #expect(f.readNow(inode, offset: 0, size: 100) == nil)
        let top = try await f.lookup("top").attributes.inode
        #expect(f.readNow(top, offset: 0, size: 100) == [0, 255, 1])
        let rotate = try await f.lookup(".rotate").attributes.inode
        _ = try await f.fs.write(rotate, handle: 0, data: Array("top".utf8), context: f.context).value
        #expect(f.readNow(top, offset: 0, size: 100) == nil)
    }

    @Test func getattrOfAValueKeptMatchesTheFullAnswer() async throws {
        let f = Fixture()
        let inode = try await f.lookup("openai/api_key").attributes.inode
        let kept = try #require(try f.fs.getattr(inode, context: f.context).immediate?.get())
        #expect(kept.attributes.size == "current-value".utf8.count)
        // The kernel may keep them only while the node is kept, so the GETATTR that revalidates a
        // file after its TTL always reaches the cache.
        #expect(kept.timeout <= 1)
        // Generated files are made per reader and folders come from the cache: never kept.
        let status = try await f.lookup(".status").attributes.inode
        #expect(f.fs.getattr(status, context: f.context).immediate == nil)
        let folder = try await f.lookup("openai").attributes.inode
        #expect(f.fs.getattr(folder, context: f.context).immediate == nil)
        f.clock.advance(by: .milliseconds(1001))
        let answer = f.fs.getattr(inode, context: f.context)
        #expect(answer.immediate == nil)
        let full = try await answer.value
        #expect(kept.attributes == full.attributes)
        // The kernel keeps them while the value stays fresh: the TTL less its random spread and its age
        // (a first answer lives between 5 % and all of the TTL at the default 10 % jitter).
        #expect(full.timeout <= 300 - 1.001 && full.timeout >= 300 * 0.05 - 1.001)
    }

    /// The spread of each answer's lifetime (`--refresh-jitter`) reaches the kernel: it asks again
    /// when the cache would fetch again, not all mounts of a deploy after the same TTL.
    @Test func theKernelKeepsAValueOnlyWhileItsAnswerIsFresh() async throws {
        let store = MemoryStore()
        store.seed("team/key", .value(SecretValue(string: "value")))
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: .seconds(300), refreshJitter: 0.1), clock: clock,
            logger: Logger(label: "test"), random: { 0.5 })
        let fs = SecretsFileSystem(
            store: cache, options: FileSystemOptions(uid: 0, gid: 0), clock: clock, logger: Logger(label: "test"))
        let folder = try await fs.lookup(parent: SecretsFileSystem.rootInode, name: "team", context: .unknown).value
        #expect(folder.entryTimeout == 300 && folder.attributeTimeout == 300)
        // A first answer: between 15 s (J/2 of the TTL) and 300 s, as long as the cache keeps it.
        let value = try await fs.lookup(parent: folder.attributes.inode, name: "key", context: .unknown).value
        let left = try #require(await cache.freshLeft(.secret(try SecretPath("team/key"), version: nil))).seconds
        #expect(left >= 15 && left < 300)
        #expect(abs(value.entryTimeout - left) < 0.001 && value.attributeTimeout == value.entryTimeout)
        clock.advance(by: .seconds(10))
        let again = try await fs.lookup(parent: folder.attributes.inode, name: "key", context: .unknown).value
        #expect(abs(again.entryTimeout - (left - 10)) < 0.001 && again.attributeTimeout == again.entryTimeout)
        // The answer that replaces it: 300 s less half of 10 % of it.
        clock.advance(by: .seconds(left - 9))
        let later = try await fs.lookup(parent: folder.attributes.inode, name: "key", context: .unknown).value
        #expect(abs(later.entryTimeout - 285) < 0.001 && later.attributeTimeout == later.entryTimeout)
    }

    @Test func aZeroTTLKeepsNothing() async throws {
        let store = MemoryStore()
        store.seed("top", .value(SecretValue(string: "value")))
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: .zero), clock: clock, logger: Logger(label: "test"))
        // As `mount --cache-ttl 0` makes it: the kernel's timeouts are the TTL.
        let fs = SecretsFileSystem(
            store: cache, options: FileSystemOptions(uid: 7, gid: 8, kernelCacheTimeout: 0), clock: clock,
            logger: Logger(label: "test"))
        let inode = try await fs.lookup(parent: SecretsFileSystem.rootInode, name: "top", context: .unknown).value
            .attributes.inode
        #expect(fs.read(inode, handle: 0, offset: 0, size: 100, context: .unknown).immediate == nil)
    }

    @Test func openHandlePinsTheVersionItOpened() async throws {
        let f = Fixture()
        let inode = try await f.lookup("openai/api_key").attributes.inode
        let open = try await f.fs.open(inode, writing: false, context: f.context).value
        let rotate = try await f.lookup("openai/.rotate").attributes.inode
        _ = try await f.fs.write(rotate, handle: 0, data: Array("api_key".utf8), context: f.context).value
        #expect(
            try await f.fs.read(inode, handle: open.handle, offset: 0, size: 100, context: f.context).value
                == Array("current-value".utf8))
        #expect(
            try await f.fs.read(inode, handle: open.handle, offset: 8, size: 100, context: f.context).value
                == Array("value".utf8))
    }

    @Test func rotateInputRules() throws {
        #expect(try SecretsFileSystem.parseRotateInput(Array("a\n b/c \n\n".utf8)).map(\.string) == ["a", "b/c"])
        for bad in [
            [], Array("\n \n".utf8), [0xff, 0xfe], Array(".status".utf8), Array("../x".utf8),
            Array(repeating: UInt8(ascii: "a"), count: 4097),
        ] as [[UInt8]] {
            #expect(throws: SecretError.self) { try SecretsFileSystem.parseRotateInput(bad) }
        }
    }

    @Test func rotateErrnos() async throws {
        let f = Fixture()
        let rotate = try await f.lookup("openai/.rotate").attributes.inode
        func write(_ text: String) async -> Int32? {
            await f.errno {
                _ = try await f.fs.write(rotate, handle: 0, data: Array(text.utf8), context: f.context).value
            }
        }
        #expect(await write("missing") == ENOENT)
        #expect(await write("") == EINVAL)
        #expect(await write(".versions") == EINVAL)
        let root = try await f.fs.lookup(parent: SecretsFileSystem.rootInode, name: ".rotate", context: f.context).value
            .attributes.inode
        #expect(
            await f.errno {
                _ = try await f.fs.write(root, handle: 0, data: Array("db".utf8), context: f.context).value
            }
                == EINVAL)
        let secret = try await f.lookup("top").attributes.inode
        #expect(
            await f.errno { _ = try await f.fs.write(secret, handle: 0, data: [1], context: f.context).value } == EROFS)
        #expect(await f.errno { _ = try await f.fs.open(secret, writing: true, context: f.context).value } == EROFS)
    }

    @Test func rotateOnStoreWithoutRotationIsUnsupported() async throws {
        let store = MemoryStore(capabilities: [])
        store.seed("a", .value(SecretValue(string: "x")))
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t"))
        let fs = SecretsFileSystem(
            store: cache, options: FileSystemOptions(uid: 0, gid: 0), clock: SystemTimeSource(),
            logger: Logger(label: "t"))
        let rotate = try await fs.lookup(parent: 1, name: ".rotate", context: .unknown).value.attributes.inode
        do {
            _ = try await fs.write(
                rotate, handle: 0, data: Array("a".utf8), context: RequestContext(uid: 0, gid: 0, pid: 0)
            ).value
            Issue.record("rotation should fail")
        } catch {
            #expect(ErrnoMapping.errno(for: error) == EOPNOTSUPP)
        }
        await #expect(throws: SecretError.self) {
            try await fs.lookup(parent: 1, name: ".versions", context: .unknown).value
        }
    }

    @Test func statusAndMetricsHoldFiguresNotValues() async throws {
        let f = Fixture()
        _ = try await f.readAll("openai/api_key")
        _ = try await f.readAll("openai/api_key")
        let status = try await f.readAll(".status")
        let json = try JSONSerialization.jsonObject(with: Data(status)) as! [String: Any]
        #expect(json["backend"] as? String == "memory")
        let cache = json["cache"] as! [String: Any]
        #expect((cache["hits"] as! Int) >= 1)
        #expect(!status.containsSubsequence(Array("current-value".utf8)))
        let metrics = String(decoding: try await f.readAll(".metrics"), as: UTF8.self)
        #expect(metrics.contains("# TYPE secretsfs_cache_hits_total counter"))
        #expect(metrics.contains("secretsfs_backend_healthy{backend=\"memory\"} 1"))
    }

    @Test func errnoTable() {
        let table: [(SecretError.Code, Int32)] = [
            (.notFound, ENOENT), (.permissionDenied, EACCES), (.unavailable, EIO), (.readOnly, EROFS),
            (.unsupported, EOPNOTSUPP), (.invalidArgument, EINVAL), (.nameTooLong, ENAMETOOLONG),
            (.malformedResponse, EIO), (.internal, EIO),
        ]
        for (code, expected) in table {
            #expect(ErrnoMapping.errno(for: SecretError(code, "x")) == expected)
        }
        struct Foreign: Error {}
        #expect(ErrnoMapping.errno(for: Foreign()) == EIO)
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
