import Foundation
import Logging
import SecretsCore
import SecretsTemplates
import Testing

@testable import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The fixture's store with rendered files declared over it.
private func renderedFixture(
    _ files: [(String, String, UInt16?, UInt32?)], policy: AccessPolicy? = nil
) throws -> (Fixture, SecretsFileSystem) {
    let f = Fixture()
    var options = FileSystemOptions(uid: 7, gid: 8)
    options.rendered = try RenderedFiles(
        files.map { path, text, mode, uid in
            try RenderedFile(
                path: SecretPath(path), template: CompiledTemplate(text: text, origin: path), mode: mode, uid: uid)
        })
    options.policy = policy
    let cache = CachingSecretStore(
        upstream: f.store, policy: CachePolicy(), clock: f.clock, logger: Logger(label: "test"))
    let fs = SecretsFileSystem(store: cache, options: options, clock: f.clock, logger: Logger(label: "test"))
    return (f, fs)
}

private func lookup(_ fs: SecretsFileSystem, _ path: String, context: RequestContext) async throws -> EntryReply {
    var parent = SecretsFileSystem.rootInode
    var reply: EntryReply?
    for name in path.split(separator: "/") {
        reply = try await fs.lookup(parent: parent, name: String(name), context: context).value
        parent = reply!.attributes.inode
    }
    return reply!
}

private func readAll(_ fs: SecretsFileSystem, _ path: String, context: RequestContext) async throws -> [UInt8] {
    let inode = try await lookup(fs, path, context: context).attributes.inode
    let open = try await fs.open(inode, writing: false, context: context).value
    defer { fs.release(open.handle) }
    return try await fs.read(inode, handle: open.handle, offset: 0, size: 1 << 16, context: context).value
}

private func names(_ fs: SecretsFileSystem, _ path: String, context: RequestContext) async throws -> [String] {
    let inode =
        path.isEmpty ? SecretsFileSystem.rootInode : try await lookup(fs, path, context: context).attributes.inode
    let open = try await fs.opendir(inode, context: context).value
    defer { fs.release(open.handle) }
    return try await fs.readdir(inode, handle: open.handle, offset: 0, context: context).value.map(\.name)
}

private func errno(_ body: () async throws -> Void) async -> Int32? {
    do {
        try await body()
        return nil
    } catch {
        return ErrnoMapping.errno(for: error)
    }
}

@Suite struct RenderedFileTests {
    static let json = #"{"user": {{ "db/username"|secret|json }}, "password": {{ "db/password"|secret|json }}}"#

    @Test func bytesSizeTimeOwnerAndMode() async throws {
        let (f, fs) = try renderedFixture([("app/db.json", Self.json, 0o440, 1000)])
        let expected = Array(#"{"user": "alice", "password": "pw-1"}"#.utf8)
        #expect(try await readAll(fs, "app/db.json", context: f.context) == expected)
        let attributes = try await lookup(fs, "app/db.json", context: f.context).attributes
        #expect(attributes.size == expected.count)
        #expect(attributes.permissions == 0o440)
        #expect(attributes.uid == 1000 && attributes.gid == 8)
        // The fixture seeds `db` third: its only version is the newest input's.
        #expect(attributes.modified == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try await lookup(fs, "app", context: f.context).attributes.type == .directory)
    }

    @Test func foldersAreCreatedAndMergedWithTheStore() async throws {
        let (f, fs) = try renderedFixture([
            ("app/db.json", Self.json, nil, nil), ("openai/env", #"KEY={{ "openai/api_key"|secret|shell }}"#, nil, nil),
        ])
        #expect(try await names(fs, "", context: f.context).prefix(6) == [".", "..", "app", "db", "openai", "top"])
        #expect(try await names(fs, "app", context: f.context) == [".", "..", "db.json", ".rotate"])
        #expect(try await names(fs, "openai", context: f.context) == [".", "..", "api_key", "env", ".rotate"])
        #expect(try await readAll(fs, "openai/env", context: f.context) == Array("KEY='current-value'".utf8))
        #expect(try await lookup(fs, "openai/env", context: f.context).attributes.permissions == 0o400)
    }

    @Test func versionsAndLabelsOfInputs() async throws {
        let text =
            #"{{ "openai/api_key@1"|secret }} {{ "openai/api_key@previous"|secret }} {{ "db/password@1"|secret }}"#
        let (f, fs) = try renderedFixture([("old", text, nil, nil)])
        #expect(try await readAll(fs, "old", context: f.context) == Array("first-value first-value pw-1".utf8))
    }

    @Test func aChangedInputDropsTheRenderedFilesPagesAndShowsAtTheNextOpen() async throws {
        let (f, fs) = try renderedFixture([
            ("app/db.json", Self.json, nil, nil), ("other", "{{ \"top\"|secret|base64 }}", nil, nil),
        ])
        let kernel = RecordingInvalidator()
        await fs.attach(kernel)
        let inode = try await lookup(fs, "app/db.json", context: f.context).attributes.inode
        let other = try await lookup(fs, "other", context: f.context).attributes.inode
        let rotate = try await lookup(fs, "db/.rotate", context: f.context).attributes.inode
        _ = try await fs.write(rotate, handle: 0, data: Array("password".utf8), context: f.context).value
        #expect(kernel.inodes.withLock { $0.contains(inode) })
        #expect(!kernel.inodes.withLock { $0.contains(other) })
        let after = try await readAll(fs, "app/db.json", context: f.context)
        #expect(after != Array(#"{"user": "alice", "password": "pw-1"}"#.utf8))
        #expect(try await lookup(fs, "app/db.json", context: f.context).attributes.inode == inode)
    }

    @Test func anInputsFailureIsTheReadsErrno() async throws {
        let (f, fs) = try renderedFixture(
            [
                ("missing", #"{{ "nothing/here"|secret }}"#, nil, nil),
                ("denied", #"{{ "db/username"|secret }}"#, nil, nil),
            ],
            policy: AccessPolicy(rules: [.init(path: "db/*", uids: [99]), .init(path: "**")]))
        #expect(await errno { _ = try await readAll(fs, "missing", context: f.context) } == ENOENT)
        // A rendered file is judged by each input as well as by its own path (DESIGN §10): it shows
        // what the caller could not read from the input itself.
        #expect(await errno { _ = try await readAll(fs, "denied", context: f.context) } == EACCES)
        let (g, strict) = try renderedFixture(
            [("denied", #"{{ "top"|secret }}"#, nil, nil)],
            policy: AccessPolicy(rules: [.init(path: "denied", uids: [99]), .init(path: "**")]))
        #expect(await errno { _ = try await readAll(strict, "denied", context: g.context) } == EACCES)
    }

    @Test func xattrsNameInputsNeverValues() async throws {
        let (f, fs) = try renderedFixture([("app/db.json", Self.json, nil, nil)])
        let inode = try await lookup(fs, "app/db.json", context: f.context).attributes.inode
        let value = try await fs.getXattr(inode, name: "user.secretsfs.inputs").value
        #expect(String(decoding: value, as: UTF8.self) == "db/password 1\ndb/username 1\n")
        let all = try await fs.listXattrs(inode).value
        for name in all {
            let bytes = try await fs.getXattr(inode, name: name).value
            #expect(!String(decoding: bytes, as: UTF8.self).contains("pw-1"))
        }
    }

    @Test func aRenderedFileCannotBeRotatedOrWritten() async throws {
        let (f, fs) = try renderedFixture([("app/db.json", Self.json, nil, nil)])
        let rotate = try await lookup(fs, ".rotate", context: f.context).attributes.inode
        #expect(
            await errno {
                _ = try await fs.write(rotate, handle: 0, data: Array("app/db.json".utf8), context: f.context).value
            }
                == EOPNOTSUPP)
        let inode = try await lookup(fs, "app/db.json", context: f.context).attributes.inode
        #expect(await errno { _ = try await fs.open(inode, writing: true, context: f.context).value } == EROFS)
    }

    @Test func duplicateAndNestedPathsAreRefused() throws {
        let template = try CompiledTemplate(text: "x", origin: "t")
        #expect(throws: SecretError.self) {
            try RenderedFiles([
                RenderedFile(path: SecretPath("a"), template: template),
                RenderedFile(path: SecretPath("a"), template: template),
            ])
        }
        #expect(throws: SecretError.self) {
            try RenderedFiles([
                RenderedFile(path: SecretPath("a"), template: template),
                RenderedFile(path: SecretPath("a/b"), template: template),
            ])
        }
    }
}

@Suite struct RenderedFileConditionalInputTests {
    @Test func anInputOnlyAnIfReachesDropsThePagesOnceRead() async throws {
        let text = #"{% if "db/username"|secret == "alice" %}{{ "openai/api_key"|secret }}{% endif %}"#
        // The check at load sees every input empty, so the `if` hides the key from it.
        #expect(try CompiledTemplate(text: text, origin: "t").inputs.map(\.description) == ["db/username"])
        let (f, fs) = try renderedFixture([("cond", text, nil, nil)])
        let kernel = RecordingInvalidator()
        await fs.attach(kernel)
        #expect(try await readAll(fs, "cond", context: f.context) == Array("current-value".utf8))
        let inode = try await lookup(fs, "cond", context: f.context).attributes.inode
        let rotate = try await lookup(fs, "openai/.rotate", context: f.context).attributes.inode
        _ = try await fs.write(rotate, handle: 0, data: Array("api_key".utf8), context: f.context).value
        #expect(kernel.inodes.withLock { $0.contains(inode) })
    }
}

@Suite struct RenderedFileBackendFailureTests {
    @Test func aDeniedOrUnreachableInputIsEACCESOrEIO() async throws {
        let store = MemoryStore()
        store.seed("db", .fields(["password": SecretValue(string: "pw-1")]))
        store.seed("top", .value(SecretValue(string: "t")))
        store.seed("ok", .value(SecretValue(string: "fine")))
        store.refuse("db", with: .permissionDenied)
        store.refuse("top", with: .unavailable)
        var options = FileSystemOptions(uid: 7, gid: 8)
        options.rendered = try RenderedFiles(
            [("denied", "db/password"), ("down", "top"), ("fine", "ok")].map { path, input in
                try RenderedFile(
                    path: SecretPath(path), template: CompiledTemplate(text: "{{ \"\(input)\"|secret }}", origin: path))
            })
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), clock: clock, logger: Logger(label: "t"))
        let fs = SecretsFileSystem(store: cache, options: options, clock: clock, logger: Logger(label: "t"))
        let context = RequestContext(uid: 0, gid: 0, pid: 1)
        #expect(try await readAll(fs, "fine", context: context) == Array("fine".utf8))
        #expect(await errno { _ = try await readAll(fs, "denied", context: context) } == EACCES)
        #expect(await errno { _ = try await readAll(fs, "down", context: context) } == EIO)
    }
}
