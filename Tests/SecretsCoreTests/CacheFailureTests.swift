import SecretsCore
import Testing

/// Stale-if-error, which failures it may hide, remembered misses and the LRU bound.
@Suite(.timeLimit(.minutes(1))) struct CacheFailureTests {
    @Test func aFailingBackendIsHiddenByAStaleValueWithinMaxStale() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.fail(with: .unavailable)
        f.clock.advance(by: .seconds(150))
        #expect(try await f.outcome("a") == ("one", .stale))
        f.clock.advance(by: .seconds(900))
        #expect(try await f.outcome("a") == ("one", .stale))
        let stats = await f.cache.statistics()
        #expect(stats.staleServes == 2)
        #expect(stats.errorsByKind["unavailable"] == 2)
        #expect(f.upstream.calls.reads == 3)
    }

    @Test func beyondMaxStaleTheErrorReachesTheReader() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.fail(with: .unavailable)
        f.clock.advance(by: .seconds(1100))
        #expect(await f.failure("a") == .unavailable)
        #expect(await f.cache.statistics().staleServes == 0)
    }

    @Test func aZeroMaxStaleNeverServesStale() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxStale: .zero))
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.fail(with: .unavailable)
        f.clock.advance(by: .seconds(101))
        #expect(await f.failure("a") == .unavailable)
    }

    @Test(arguments: [SecretError.Code.notFound, .permissionDenied])
    func notFoundAndDeniedAreNeverHidden(code: SecretError.Code) async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.fail(with: code)
        f.clock.advance(by: .seconds(101))
        #expect(await f.failure("a") == code)
        #expect(await f.cache.statistics().staleServes == 0)
    }

    @Test func aMissIsRememberedForTheNegativeTTL() async throws {
        let f = CacheFixture()
        #expect(await f.failure("later") == .notFound)
        #expect(await f.failure("later") == .notFound)
        #expect(f.upstream.calls.reads == 1)
        f.upstream.set(path("later"), "arrived")
        f.clock.advance(by: .seconds(9))
        #expect(await f.failure("later") == .notFound)
        #expect(f.upstream.calls.reads == 1)
        f.clock.advance(by: .seconds(1))
        #expect(try await f.read("later") == "arrived")
        #expect(f.upstream.calls.reads == 2)
    }

    /// A standby answers "no such secret" for a write it has not applied yet (issue 27 §3): that miss
    /// is remembered for `replicaMissTTL` (1 s), not the negative TTL.
    @Test func aMissFromAReplicaIsRememberedForAMomentOnly() async throws {
        let f = CacheFixture()
        f.upstream.missFromReplica(true)
        #expect(await f.failure("new") == .notFound)
        #expect(await f.failure("new") == .notFound)
        #expect(f.upstream.calls.reads == 1)
        f.upstream.set(path("new"), "applied")
        f.clock.advance(by: .milliseconds(999))
        #expect(await f.failure("new") == .notFound)
        f.clock.advance(by: .milliseconds(1))
        #expect(try await f.read("new") == "applied")
        #expect(f.upstream.calls.reads == 2)
    }

    @Test func theLeastRecentlyUsedEntryLeavesFirst() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxEntries: 3))
        for name in ["a", "b", "c", "d"] { f.upstream.set(path(name), name) }
        for name in ["a", "b", "c"] { _ = try await f.read(name) }
        _ = try await f.read("a")  // a is now the most recently used of the three
        _ = try await f.read("d")  // over the bound: the oldest leave
        let stats = await f.cache.statistics()
        #expect(stats.entries <= 3)
        #expect(stats.evictions >= 1)
        _ = try await f.read("a")
        _ = try await f.read("d")
        #expect(f.upstream.calls.readsByPath[path("a")] == 1)
        #expect(f.upstream.calls.readsByPath[path("d")] == 1)
        _ = try await f.read("b")
        #expect(f.upstream.calls.readsByPath[path("b")] == 2)
    }
}
