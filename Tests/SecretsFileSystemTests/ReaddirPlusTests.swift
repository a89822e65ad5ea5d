import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

/// READDIRPLUS: names with what LOOKUP would answer for them, where that costs no backend read, and
/// each such name counted as the lookup the kernel counts it as. Through a real mount:
/// Tests/MountTests/test_readdirplus.py.
@Suite struct ReaddirPlusTests {
    struct Setup {
        let store: MemoryStore
        let clock = ManualTimeSource()
        let fs: SecretsFileSystem
        let context = RequestContext(uid: 0, gid: 0, pid: 1)

        init(
            listsCurrent: Bool = true, ttl: Duration = .seconds(300), store: MemoryStore? = nil,
            continuity: WorkerContinuity = .none
        ) {
            self.store = store ?? MemoryStore(listsCurrent: listsCurrent)
            if store == nil {
                for name in ["a", "b", "c"] {
                    self.store.seed("team/\(name)", .value(SecretValue(string: "value \(name)")))
                }
                self.store.seed("team/db", .fields(["user": SecretValue(string: "alice")]))
                self.store.seed("team/sub/x", .value(SecretValue(string: "deeper")))
            }
            let cache = CachingSecretStore(
                upstream: self.store, policy: CachePolicy(ttl: ttl), clock: clock, logger: Logger(label: "test"))
            fs = SecretsFileSystem(
                store: cache,
                options: FileSystemOptions(uid: 7, gid: 8, kernelCacheTimeout: ttl.seconds),
                clock: clock, logger: Logger(label: "test"), continuity: continuity)
        }

        func team() async throws -> UInt64 {
            try await fs.lookup(parent: SecretsFileSystem.rootInode, name: "team", context: context).value
                .attributes.inode
        }

        /// One READDIRPLUS of `inode` from `offset`, each entry costing `entrySize` bytes of `size`.
        func plus(_ inode: UInt64, offset: Int = 0, size: Int = 1 << 16, entrySize: Int = 100) async throws
            -> [DirectoryPlusEntry]
        {
            let open = try await fs.opendir(inode, context: context).value
            defer { fs.release(open.handle) }
            return try await fs.readdirplus(
                inode, handle: open.handle, offset: offset, size: size, entrySize: { _ in entrySize },
                context: context
            ).value
        }

        var reads: Int { store.reads.load(ordering: .relaxed) }
        var lists: Int { store.lists.load(ordering: .relaxed) }
    }

    @Test func eachNameGetsExactlyWhatItsLookupAnswersWithoutAReadPerName() async throws {
        let s = Setup()
        let team = try await s.team()
        let entries = try await s.plus(team)
        #expect(entries.map(\.entry.name) == [".", "..", "a", "b", "c", "db", "sub", ".rotate"])
        // The listing brought the values: no read for any name.
        #expect(s.reads == 0)
        // `.` and `..` never count as lookups; `.rotate` lives for no time in the kernel anyway.
        #expect(entries.filter { $0.lookup != nil }.map(\.entry.name) == ["a", "b", "c", "db", "sub"])
        for plus in entries {
            guard let given = plus.lookup else { continue }
            var looked = try await s.fs.lookup(parent: team, name: plus.entry.name, context: s.context).value
            // A LOOKUP alone hands the kernel a value's pages: `ls -l` of a large folder must not.
            #expect(given.pages == nil)
            looked.pages = nil
            #expect(given == looked, "\(plus.entry.name)")
        }
        let a = try #require(entries.first { $0.entry.name == "a" }?.lookup)
        #expect(a.attributes.size == 7 && a.attributes.permissions == 0o400 && a.attributes.uid == 7)
        #expect(s.reads == 0)
        #expect(s.lists == 2, "the root and team, once each: READDIRPLUS asks the store nothing")

        // A multi-field secret's folder: its fields need a listing of its own path (a field and a
        // secret below may share a name), which only a LOOKUP of a field fetches.
        let db = try #require(entries.first { $0.entry.name == "db" }?.lookup)
        #expect(db.attributes.type == .directory)
        var fields = try await s.plus(db.attributes.inode)
        #expect(fields.map(\.entry.name) == [".", "..", "user", ".rotate"] && fields.allSatisfy { $0.lookup == nil })
        #expect(s.lists == 2 && s.reads == 0)
        var user = try await s.fs.lookup(parent: db.attributes.inode, name: "user", context: s.context).value
        user.pages = nil
        fields = try await s.plus(db.attributes.inode)
        #expect(fields.compactMap(\.lookup) == [user])
        #expect(s.lists == 3 && s.reads == 0)
    }

    /// A store whose listing carries no values (Vault, AWS): only what is known gets attributes.
    @Test func whereTheListingBringsNoValuesOnlyFoldersAndKeptValuesGetAttributes() async throws {
        let s = Setup(listsCurrent: false)
        let team = try await s.team()
        var entries = try await s.plus(team)
        #expect(entries.filter { $0.lookup != nil }.map(\.entry.name) == ["sub"])
        #expect(s.reads == 0)
        _ = try await s.fs.lookup(parent: team, name: "b", context: s.context).value
        #expect(s.reads == 1)
        entries = try await s.plus(team)
        #expect(entries.filter { $0.lookup != nil }.map(\.entry.name) == ["b", "sub"])
        #expect(s.reads == 1)
    }

    @Test func onlyTheNamesThatFitAreAnsweredAndCountedAsLookups() async throws {
        let s = Setup()
        await s.fs.attach(RecordingInvalidator())
        let announcer = ChangeEventTests.RecordingAnnouncer()
        s.fs.attach(announcer: announcer)
        let team = try await s.team()
        func rotate(_ name: String) async throws -> [UInt64] {
            let control = try await s.fs.lookup(parent: team, name: ".rotate", context: s.context).value
            _ = try await s.fs.write(
                control.attributes.inode, handle: 0, data: Array(name.utf8), context: s.context
            ).value
            return announcer.announced.withLock { $0 }.last?.inodes ?? []
        }

        let first = try await s.plus(team, size: 350)
        #expect(first.map(\.entry.name) == [".", "..", "a"])
        let a = try #require(first.last?.lookup?.attributes.inode)
        // A name that did not fit was never given: the kernel holds nothing of it.
        #expect(try await rotate("b") == [])
        // The kernel holds what it was given, until its FORGET gives it back.
        #expect(try await rotate("a") == [a])
        #expect(try await rotate("a") == [a])
        s.fs.forget(a, lookups: 1)
        #expect(try await rotate("a") == [])
        // The next page goes on where the kernel says, each name given counted once.
        let next = try await s.plus(team, offset: first.last!.entry.offset, size: 350)
        #expect(next.map(\.entry.name) == ["b", "c", "db"])
        let b = try #require(next.first?.lookup?.attributes.inode)
        #expect(try await rotate("b") == [b])
        s.fs.forget(b, lookups: 1)
        #expect(try await rotate("b") == [])
    }

    @Test func aValueChangedAtTheStoreIsGivenAsItsNewVersionOnceTheListingIsFetchedAgain() async throws {
        let s = Setup()
        let team = try await s.team()
        let before = try #require(try await s.plus(team).first { $0.entry.name == "a" }?.lookup)
        s.store.seed("team/a", .value(SecretValue(string: "a longer value")))
        s.clock.advance(by: .seconds(301))
        let after = try #require(try await s.plus(team).first { $0.entry.name == "a" }?.lookup)
        #expect(after.attributes.size == 14 && after.attributes.inode != before.attributes.inode)
        #expect(s.reads == 0)
    }

    /// `--cache-ttl 0`: the kernel keeps nothing, so nothing is worth giving (the FUSE layer does
    /// not even ask the kernel for READDIRPLUS).
    @Test func aZeroTTLGivesNamesOnly() async throws {
        let s = Setup(ttl: .zero)
        #expect(!s.fs.listsWithAttributes)
        let entries = try await s.plus(try await s.team())
        #expect(entries.count == 8 && entries.allSatisfy { $0.lookup == nil })
    }

    /// The inode numbers READDIRPLUS gave out mean the same nodes to the worker that takes over.
    @Test func aWorkerTakingOverAnswersForTheNodesReaddirplusGave() async throws {
        let journal = MemoryInodeJournal()
        let first = Setup(continuity: WorkerContinuity(journal: journal))
        let given = try await first.plus(try await first.team()).compactMap(\.lookup)
        #expect(given.count == 5)
        let second = Setup(store: first.store, continuity: WorkerContinuity(restoredInodes: journal.records))
        for entry in given {
            let attributes = try await second.fs.getattr(entry.attributes.inode, context: second.context).value
            #expect(attributes.attributes == entry.attributes)
        }
    }
}
