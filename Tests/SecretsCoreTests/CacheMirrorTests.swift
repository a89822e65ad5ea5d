import Foundation
import Logging
import Synchronization
import Testing

@testable import SecretsCore

/// A `CacheMirror` in memory with the shared journal's semantics: the last record for a key wins,
/// a tombstone removes it. It can be told to refuse records, as a full journal does.
final class MemoryMirror: CacheMirror {
    private struct State {
        var entries: [CacheKey: MirroredEntry] = [:]
        var accepting = true
        var replacements: [[(CacheKey, MirroredEntry)]] = []
        var records = 0
    }

    private let state = Mutex(State())

    var entries: [CacheKey: MirroredEntry] { state.withLock { $0.entries } }
    var replacements: [[(CacheKey, MirroredEntry)]] { state.withLock { $0.replacements } }
    var records: Int { state.withLock { $0.records } }
    /// What a new worker reads back.
    var restored: [(CacheKey, MirroredEntry)] { entries.map { ($0.key, $0.value) } }

    func accept(_ accepting: Bool) { state.withLock { $0.accepting = accepting } }

    func record(_ key: CacheKey, _ entry: MirroredEntry?) -> Bool {
        state.withLock { state in
            guard state.accepting else { return false }
            state.records += 1
            state.entries[key] = entry
            return true
        }
    }

    func replaceAll(_ entries: [(CacheKey, MirroredEntry)]) {
        state.withLock { state in
            state.replacements.append(entries)
            state.entries = Dictionary(entries, uniquingKeysWith: { _, last in last })
        }
    }
}

/// The cache's half of worker continuity: what it copies to the mirror, and what a cache in the
/// next worker makes of it.
@Suite(.timeLimit(.minutes(1))) struct CacheMirrorTests {
    func mirrored(_ f: CacheFixture) async -> MemoryMirror {
        let mirror = MemoryMirror()
        await f.cache.mirror(to: mirror)
        return mirror
    }

    func value(_ entry: MirroredEntry?) -> String? {
        guard case .secret(let secret)? = entry?.payload else { return nil }
        return text(of: secret)
    }

    @Test func everyAnswerReadIsRecordedWithTheTimeItWasFetched() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        #expect(mirror.replacements.count == 1)
        #expect(mirror.replacements.first?.isEmpty == true, "an empty cache hands over nothing")
        f.upstream.set(path("x/a"), "one")
        f.upstream.set(path("x/a"), "two")
        f.clock.advance(by: .seconds(5))
        _ = try await f.read("x/a")
        _ = try await f.cache.read(path("x/a"), version: "2")
        _ = try await f.cache.list(path("x"))
        _ = try await f.cache.versions(of: path("x/a"))

        let entries = mirror.entries
        #expect(entries.count == 4)
        #expect(value(entries[.secret(path("x/a"), version: nil)]) == "two")
        #expect(value(entries[.secret(path("x/a"), version: "2")]) == "two")
        #expect(entries[.listing(path("x"))]?.payload == .listing(Listing(secrets: ["a"])))
        guard case .versions(let versions)? = entries[.versions(path("x/a"))]?.payload else {
            Issue.record("no versions recorded")
            return
        }
        #expect(Set(versions.map(\.id)) == ["1", "2"])
        for entry in entries.values { #expect(entry.fetchedAt == f.clock.wallNow()) }
    }

    @Test func attachingAMirrorLateHandsOverWhatIsAlreadyCachedWithItsAge() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        let fetched = f.clock.wallNow()
        f.clock.advance(by: .seconds(30))
        let mirror = await mirrored(f)
        let handed = try #require(mirror.replacements.first)
        #expect(handed.map(\.0) == [.secret(path("a"), version: nil)])
        #expect(handed.first?.1.fetchedAt == fetched, "aged by when it was fetched, not when it was handed over")
    }

    @Test func invalidatingAPathDropsItsValueVersionsAndTheListingsAboveFromTheMirror() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        f.upstream.set(path("x/a"), "one")
        f.upstream.set(path("y/b"), "two")
        _ = try await f.read("x/a")
        _ = try await f.read("y/b")
        _ = try await f.cache.list(.root)
        _ = try await f.cache.list(path("x"))
        _ = try await f.cache.versions(of: path("x/a"))
        #expect(mirror.entries.count == 5)

        await f.cache.invalidate(path("x/a"))
        #expect(Set(mirror.entries.keys) == [.secret(path("y/b"), version: nil)])
    }

    @Test func supersededRecordsAreRewrittenAwayOnceTheyOutnumberTheLive() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        f.upstream.set(path("a"), "one")
        let before = mirror.replacements.count
        // Each read records the value, each invalidation a tombstone: old values pile up as records.
        for _ in 0..<(EntryTable.mirrorSlack / 2) {
            _ = try await f.read("a")
            await f.cache.invalidate(path("a"))
        }
        #expect(mirror.replacements.count == before, "rewritten too early")
        for _ in 0..<EntryTable.mirrorSlack {
            _ = try await f.read("a")
            await f.cache.invalidate(path("a"))
        }
        #expect(mirror.replacements.count > before, "superseded records were never rewritten away")
    }

    @Test func evictedEntriesLeaveTheMirror() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxEntries: 10))
        let mirror = await mirrored(f)
        for index in 0..<11 {
            f.upstream.set(path("s\(index)"), "v\(index)")
            _ = try await f.read("s\(index)")
        }
        let stats = await f.cache.statistics()
        #expect(stats.evictions > 0)
        #expect(mirror.entries.count == stats.entries)
        // The least recently used went first.
        #expect(mirror.entries[.secret(path("s0"), version: nil)] == nil)
        #expect(mirror.entries[.secret(path("s10"), version: nil)] != nil)
    }

    @Test func aNotFoundReplacingAValueRemovesItFromTheMirror() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        #expect(mirror.entries[.secret(path("a"), version: nil)] != nil)

        f.clock.advance(by: .seconds(101))
        f.upstream.fail(with: .notFound)
        #expect(await f.failure("a") == .notFound)
        #expect(mirror.entries.isEmpty, "a worker restored now must not serve a deleted secret")
    }

    @Test func aRestoredCacheAnswersFromTheMirrorWithoutAskingUpstream() async throws {
        let first = CacheFixture()
        let mirror = await mirrored(first)
        first.upstream.set(path("x/a"), "one")
        _ = try await first.read("x/a")
        _ = try await first.cache.list(path("x"))
        _ = try await first.cache.versions(of: path("x/a"))

        // The next worker: a new cache, an upstream that would fail every call, a clock 10s on.
        let second = CacheFixture()
        second.clock.advance(by: .seconds(10))
        second.upstream.fail(with: .unavailable)
        await second.cache.restore(mirror.restored)

        #expect(try await second.outcome("x/a") == ("one", .hit))
        #expect(try await second.cache.list(path("x")) == Listing(secrets: ["a"]))
        #expect(try await second.cache.versions(of: path("x/a")).map(\.id) == ["1"])
        #expect(second.upstream.calls.reads == 0)
        #expect(second.upstream.calls.lists == 0)
        #expect(second.upstream.calls.versions == 0)
        #expect(await second.cache.statistics().hits == 3)
        let freshness = await second.cache.freshness(of: .secret(path("x/a"), version: nil))
        #expect(freshness?.age == .seconds(10), "restored entries keep their age")
        #expect(freshness?.expired == false)
    }

    @Test func aRestoredCacheMirroredAgainKeepsTheEntriesForTheWorkerAfterIt() async throws {
        // The worker restores, then mirrors: the entries must survive a second restart.
        let first = CacheFixture()
        let mirror = await mirrored(first)
        first.upstream.set(path("a"), "one")
        _ = try await first.read("a")

        let second = CacheFixture()
        second.clock.advance(by: .seconds(20))
        await second.cache.restore(mirror.restored)
        let next = await mirrored(second)
        let entry = try #require(next.entries[.secret(path("a"), version: nil)])
        #expect(value(entry) == "one")
        #expect(entry.fetchedAt == first.clock.wallNow())
    }

    @Test func entriesTooOldToServeEvenStaleAreNotRestored() async {
        // ttl 100s + maxStale 1000s: an answer 1100s old may not be served at all.
        let f = CacheFixture()
        let now = f.clock.wallNow()
        func entry(_ value: String, age: TimeInterval) -> MirroredEntry {
            let secret = Secret(content: .value(SecretValue(string: value)), version: "1", createdAt: nil)
            return MirroredEntry(payload: .secret(secret), fetchedAt: now.addingTimeInterval(-age))
        }
        await f.cache.restore([
            (.secret(path("old"), version: nil), entry("old", age: 1100)),
            (.secret(path("older"), version: nil), entry("older", age: 50_000)),
            (.secret(path("usable"), version: nil), entry("usable", age: 1099)),
        ])
        #expect(await f.cache.statistics().entries == 1)
        #expect(await f.cache.peek(path("old")) == nil)
        #expect(await f.cache.peek(path("older")) == nil)
        #expect(await f.cache.peek(path("usable")) != nil)
    }

    @Test func aRestoredEntryPastItsTTLIsServedStaleWhenUpstreamFails() async throws {
        let first = CacheFixture()
        let mirror = await mirrored(first)
        first.upstream.set(path("a"), "one")
        _ = try await first.read("a")

        let second = CacheFixture()
        second.clock.advance(by: .seconds(150))
        await second.cache.restore(mirror.restored)
        #expect(await second.cache.freshness(of: .secret(path("a"), version: nil))?.expired == true)

        second.upstream.fail(with: .unavailable)
        #expect(try await second.outcome("a") == ("one", .stale))
        #expect(second.upstream.calls.reads == 1, "an expired entry is asked for again")
        #expect(await second.cache.statistics().staleServes == 1)

        // Once past ttl + maxStale since it was fetched, it is no longer served.
        second.clock.advance(by: .seconds(950))
        #expect(await second.failure("a") == .unavailable)
    }

    @Test func aRestoredExpiredEntryIsReplacedByTheBackendsAnswer() async throws {
        let first = CacheFixture()
        let mirror = await mirrored(first)
        first.upstream.set(path("a"), "one")
        _ = try await first.read("a")

        let second = CacheFixture()
        second.clock.advance(by: .seconds(150))
        await second.cache.restore(mirror.restored)
        second.upstream.set(path("a"), "new")
        #expect(try await second.outcome("a") == ("new", .miss))
        #expect(try await second.outcome("a") == ("new", .hit))
    }

    @Test func aRefusedRecordMakesTheCacheHandOverEveryLiveEntry() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        for name in ["a", "b"] {
            f.upstream.set(path(name), name)
            _ = try await f.read(name)
        }
        #expect(mirror.replacements.count == 1)

        mirror.accept(false)
        f.upstream.set(path("c"), "c")
        _ = try await f.read("c")
        #expect(mirror.replacements.count == 2)
        let handed = try #require(mirror.replacements.last)
        #expect(
            Set(handed.map(\.0)) == [
                .secret(path("a"), version: nil), .secret(path("b"), version: nil), .secret(path("c"), version: nil),
            ])
        #expect(value(handed.first { $0.0 == .secret(path("c"), version: nil) }?.1) == "c")
    }

    @Test func aRefusedTombstoneHandsOverWhatIsLeftWithoutTheDroppedEntry() async throws {
        let f = CacheFixture()
        let mirror = await mirrored(f)
        for name in ["a", "b"] {
            f.upstream.set(path(name), name)
            _ = try await f.read(name)
        }
        mirror.accept(false)
        await f.cache.invalidate(path("a"))
        #expect(Set(mirror.entries.keys) == [.secret(path("b"), version: nil)])
    }
}
