import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct AccessPolicyTests {
    let alice = Caller(uid: 1001, gid: 100, pid: 1, groups: [100, 2000], executable: "/usr/bin/python3.11")
    let bob = Caller(uid: 1002, gid: 200, pid: 2, groups: [200], executable: "/usr/bin/cat")

    @Test func firstMatchingRuleDecidesAndNoMatchIsDenied() throws {
        let policy = AccessPolicy(rules: [
            .init(path: "billing/**", uids: [1001]),
            .init(path: "shared/*", gids: [2000]),
            .init(path: "tools/*", executables: ["/usr/bin/cat"]),
            .init(path: "billing/public"),  // never reached: the first rule already matches
        ])
        #expect(policy.allows(try SecretPath("billing/db/password"), alice))
        #expect(!policy.allows(try SecretPath("billing/db/password"), bob))
        #expect(!policy.allows(try SecretPath("billing/public"), bob))
        #expect(policy.allows(try SecretPath("shared/key"), alice), "a supplementary group counts")
        #expect(!policy.allows(try SecretPath("shared/deeper/key"), alice), "* stays within a segment")
        #expect(policy.allows(try SecretPath("tools/token"), bob))
        #expect(!policy.allows(try SecretPath("tools/token"), alice))
        #expect(!policy.allows(try SecretPath("elsewhere"), alice))
    }

    @Test func foldersAreListedWhenSomethingBelowMayBeReadable() throws {
        let policy = AccessPolicy(rules: [.init(path: "billing/**", uids: [1001]), .init(path: "a/b/c", uids: [1002])])
        #expect(policy.mayAllowBelow(try SecretPath("billing"), alice))
        #expect(!policy.mayAllowBelow(try SecretPath("billing"), bob))
        #expect(policy.mayAllowBelow(try SecretPath("a/b"), bob))
        #expect(!policy.mayAllowBelow(try SecretPath("a/x"), bob))
    }

    @Test func aFolderAnEarlierRuleRefusesWhollyIsNotListed() throws {
        // db only for alice, everything else for everyone: the first matching rule decides.
        let policy = AccessPolicy(rules: [.init(path: "db/**", uids: [1001]), .init(path: "**")])
        #expect(!policy.mayAllowBelow(try SecretPath("db"), bob))
        #expect(!policy.mayAllowBelow(try SecretPath("db/inner"), bob))
        #expect(policy.mayAllowBelow(try SecretPath("db"), alice))
        #expect(policy.mayAllowBelow(try SecretPath("pub"), bob))
        #expect(!policy.allows(try SecretPath("db/password"), bob))
        // A rule that refuses only part of the folder leaves it listed.
        let partial = AccessPolicy(rules: [.init(path: "db/secret", uids: [1001]), .init(path: "**")])
        #expect(partial.mayAllowBelow(try SecretPath("db"), bob))
        let glob = AccessPolicy(rules: [.init(path: "d*/**", uids: [1001]), .init(path: "**")])
        #expect(!glob.mayAllowBelow(try SecretPath("db"), bob))
        #expect(glob.mayAllowBelow(try SecretPath("other"), bob))
    }

    @Test func policyGatesOpensListingsAndRotationsAndAuditRecordsThem() async throws {
        let store = MemoryStore()
        store.seed("billing/key", .value(SecretValue(string: "billing-value")))
        store.seed("other/key", .value(SecretValue(string: "other-value")))
        let audit = RecordingAudit()
        let callers = FixedCallers(callers: [1001: alice, 1002: bob])
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t"))
        let fs = SecretsFileSystem(
            store: cache,
            options: FileSystemOptions(
                uid: 0, gid: 0, policy: AccessPolicy(rules: [.init(path: "billing/**", uids: [1001])]), audit: audit,
                callers: callers),
            clock: SystemTimeSource(), logger: Logger(label: "t"))
        #expect(!fs.opensStayInKernel, "a policy needs every open to reach the daemon")
        let asAlice = RequestContext(uid: 1001, gid: 100, pid: 1)
        let asBob = RequestContext(uid: 1002, gid: 200, pid: 2)
        let billing = try await fs.lookup(parent: 1, name: "billing", context: .unknown).value.attributes.inode
        let key = try await fs.lookup(parent: billing, name: "key", context: .unknown).value.attributes.inode
        let opened = try await fs.open(key, writing: false, context: asAlice).value
        #expect(!opened.directIO && opened.keepCache, "a checked open's reads may come from the page cache")
        await #expect(throws: SecretError.self) { try await fs.open(key, writing: false, context: asBob).value }
        let root = try await fs.opendir(1, context: asBob).value
        #expect(
            try await !fs.readdir(1, handle: root.handle, offset: 0, context: asBob).value.map(\.name).contains(
                "billing"))
        let rootAlice = try await fs.opendir(1, context: asAlice).value
        #expect(
            try await fs.readdir(1, handle: rootAlice.handle, offset: 0, context: asAlice).value.map(\.name).contains(
                "billing"))
        let rotate = try await fs.lookup(parent: billing, name: ".rotate", context: .unknown).value.attributes.inode
        do {
            _ = try await fs.write(rotate, handle: 0, data: Array("key".utf8), context: asBob).value
            Issue.record("bob may not rotate")
        } catch {
            #expect(ErrnoMapping.errno(for: error) == EACCES)
        }
        _ = try await fs.write(rotate, handle: 0, data: Array("key".utf8), context: asAlice).value
        let events = audit.events.withLock { $0 }
        #expect(events.map(\.outcome) == [.ok, .denied, .denied, .ok])
        #expect(events.map(\.action) == [.open, .open, .rotate, .rotate])
        #expect(
            events[0].path == "billing/key" && events[0].uid == 1001 && events[0].cache == "hit",
            "the lookup before the open filled the cache")
        #expect(events[0].version == "1" && events[3].version == "2")
        #expect(events[1].executable == "/usr/bin/cat")
        let line = events[0].jsonLine
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(json["path"] as? String == "billing/key" && json["outcome"] as? String == "ok")
        #expect((json["time"] as? String)?.hasSuffix("Z") == true && json["uid"] as? Int == 1001)
    }
}

extension AccessPolicyTests {
    @Test func aRefusedOpenFetchesNothing() async throws {
        let store = MemoryStore()
        store.seed("other/key", .value(SecretValue(string: "other-value")))
        // No caching: any resolution of the node would reach the store again.
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(ttl: .zero), logger: Logger(label: "t"))
        let fs = SecretsFileSystem(
            store: cache,
            options: FileSystemOptions(
                uid: 0, gid: 0, policy: AccessPolicy(rules: [.init(path: "billing/**")]),
                callers: FixedCallers(callers: [1001: alice])),
            clock: SystemTimeSource(), logger: Logger(label: "t"))
        let folder = try await fs.lookup(parent: 1, name: "other", context: .unknown).value.attributes.inode
        let value = try await fs.lookup(parent: folder, name: "key", context: .unknown).value.attributes.inode
        let readsBefore = store.reads.load(ordering: .relaxed)
        await #expect(throws: SecretError.self) {
            try await fs.open(value, writing: false, context: RequestContext(uid: 1001, gid: 100, pid: 1)).value
        }
        #expect(store.reads.load(ordering: .relaxed) == readsBefore)
    }
}

final class RecordingAudit: AuditSink {
    let events = Mutex<[AuditEvent]>([])
    func record(_ event: AuditEvent) { events.withLock { $0.append(event) } }
}

struct FixedCallers: CallerResolver {
    let callers: [UInt32: Caller]
    func resolve(_ context: RequestContext, groups: Bool) -> Caller { callers[context.uid]! }
}

extension AccessPolicyTests {
    @Test func checkedOpensKeepPagesAndStillCheckAndRecordEveryOpen() async throws {
        let store = MemoryStore()
        store.seed("billing/key", .value(SecretValue(string: "billing-value")))
        let audit = RecordingAudit()
        var options = FileSystemOptions(
            uid: 0, gid: 0, policy: AccessPolicy(rules: [.init(path: "billing/**", uids: [1001])]), audit: audit,
            callers: FixedCallers(callers: [1001: alice, 1002: bob]))
        #expect(options.caching == .checkedOpens, "pages kept, opens still asked")
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t"))
        let fs = SecretsFileSystem(
            store: cache, options: options, clock: SystemTimeSource(), logger: Logger(label: "t"))
        let billing = try await fs.lookup(parent: 1, name: "billing", context: .unknown).value.attributes.inode
        let key = try await fs.lookup(parent: billing, name: "key", context: .unknown).value.attributes.inode
        let opened = try await fs.open(key, writing: false, context: RequestContext(uid: 1001, gid: 100, pid: 1)).value
        #expect(!opened.directIO && opened.keepCache)
        await #expect(throws: SecretError.self) {
            try await fs.open(key, writing: false, context: RequestContext(uid: 1002, gid: 200, pid: 2)).value
        }
        #expect(audit.events.withLock { $0 }.map(\.outcome) == [.ok, .denied])
        // --direct-io still means direct I/O.
        options.directIO = true
        #expect(options.caching == .direct)
    }
}

extension AccessPolicyTests {
    @Test func aCallOutsideAnyRequestIsNotRootAndIsRefusedWhereACallerIsJudged() async throws {
        #expect(RequestContext.unknown.uid != 0 && RequestContext.unknown.gid != 0)
        let store = MemoryStore()
        store.seed("billing/key", .value(SecretValue(string: "billing-value")))
        let audit = RecordingAudit()
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: Logger(label: "t"))
        let fs = SecretsFileSystem(
            store: cache,
            options: FileSystemOptions(
                uid: 0, gid: 0, policy: AccessPolicy(rules: [.init(path: "**", uids: [0])]), audit: audit,
                callers: FixedCallers(callers: [0: Caller(uid: 0, gid: 0, pid: 1)])),
            clock: SystemTimeSource(), logger: Logger(label: "t"))
        let billing = try await fs.lookup(parent: 1, name: "billing", context: .unknown).value.attributes.inode
        let key = try await fs.lookup(parent: billing, name: "key", context: .unknown).value.attributes.inode
        await #expect(throws: SecretError.self) { try await fs.open(key, writing: false, context: .unknown).value }
        await #expect(throws: SecretError.self) { try await fs.opendir(1, context: .unknown).value }
        let root = RequestContext(uid: 0, gid: 0, pid: 1)
        fs.release(try await fs.open(key, writing: false, context: root).value.handle)
    }
}
