import SecretsCore
import Testing

/// TTL, single flight, refresh-ahead and turning the cache off.
@Suite(.timeLimit(.minutes(1))) struct CacheFreshnessTests {
    @Test func aHitWithinTheTTLMakesNoUpstreamCall() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        #expect(try await f.outcome("a") == ("one", .miss))
        f.clock.advance(by: .seconds(50))
        #expect(try await f.outcome("a") == ("one", .hit))
        #expect(f.upstream.calls.reads == 1)
    }

    @Test func anEntryExpiresAfterItsTTL() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.set(path("a"), "two")
        f.clock.advance(by: .seconds(100))
        #expect(try await f.outcome("a") == ("two", .miss))
        #expect(f.upstream.calls.reads == 2)
    }

    @Test func concurrentMissesShareOneUpstreamCall() async throws {
        let f = CacheFixture()
        f.upstream.set(path("hot"), "value")
        let gate = Gate()
        f.upstream.block(with: gate)
        let cache = f.cache
        let results = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<50 { group.addTask { text(of: try await cache.read(path("hot"))) } }
            // Hold the one upstream call until all 50 readers have missed and are waiting on it.
            let allWaiting = await eventually { await cache.statistics().misses == 50 }
            #expect(allWaiting)
            await gate.release()
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(results.count == 50)
        #expect(results.allSatisfy { $0 == "value" })
        #expect(f.upstream.calls.reads == 1)
        let stats = await cache.statistics()
        #expect(stats.backendCalls == 1)
        #expect(stats.misses == 50)
    }

    @Test func aReadLateInTheTTLRefreshesInTheBackground() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.set(path("a"), "two")
        let gate = Gate()
        f.upstream.block(with: gate)
        f.clock.advance(by: .seconds(80))
        // The upstream is held, yet the reader gets the cached value at once.
        #expect(try await f.outcome("a") == ("one", .hit))
        await gate.release()
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 2)
        #expect(try await f.outcome("a") == ("two", .hit))
        #expect(f.upstream.calls.reads == 2)
        #expect(await f.cache.statistics().refreshes == 1)
    }

    @Test func aReadEarlyInTheTTLDoesNotRefresh() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(70))
        _ = try await f.read("a")
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 1)
        #expect(await f.cache.statistics().refreshes == 0)
    }

    @Test func aZeroTTLSendsEveryReadUpstream() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .zero))
        f.upstream.set(path("a"), "one")
        for _ in 0..<3 { #expect(try await f.read("a") == "one") }
        f.upstream.set(path("a"), "two")
        #expect(try await f.read("a") == "two")
        #expect(f.upstream.calls.reads == 4)
        #expect(await f.cache.statistics().entries == 0)
        // Nothing kept means nothing stale to serve either.
        f.upstream.fail(with: .unavailable)
        #expect(await f.failure("a") == .unavailable)
    }

    @Test func aZeroTTLRemembersFoldersForTheNegativeTTLAndNothingElse() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .zero, negativeTTL: .seconds(10)))
        f.upstream.set(path("team/app/key"), "one")
        f.upstream.set(path("team/top"), "two")
        #expect(await f.cache.lookupHint(path("team")) == .unknown)
        #expect(try await f.cache.isFolder(path("team")))
        // Inside the folder just listed, its listing decides, for a moment.
        #expect(await f.cache.lookupHint(path("team/app")) == .parentListed)
        f.clock.advance(by: CachePolicy().coalescingWindow + .milliseconds(1))
        // Then what it showed: its folders, not its secrets (a value is read every time).
        #expect(await f.cache.lookupHint(path("team")) == .folder)
        #expect(await f.cache.lookupHint(path("team/app")) == .folder)
        #expect(await f.cache.lookupHint(path("team/top")) == .unknown)
        #expect(await f.cache.lookupHint(path("team/app/key")) == .unknown)
        // A value read proves the folders above it; until the negative TTL has passed since.
        f.clock.advance(by: .seconds(9))
        _ = try await f.read("team/app/key")
        f.clock.advance(by: .seconds(2))
        #expect(await f.cache.lookupHint(path("team/app")) == .folder)
        f.clock.advance(by: .seconds(8) + .milliseconds(1))
        #expect(await f.cache.lookupHint(path("team/app")) == .unknown)
        // A folder listed empty is gone, and what was below it with it.
        _ = try await f.read("team/app/key")
        f.upstream.remove(path("team/app/key"))
        #expect(try await !f.cache.isFolder(path("team/app")))
        f.clock.advance(by: CachePolicy().coalescingWindow + .milliseconds(1))
        #expect(await f.cache.lookupHint(path("team/app")) == .unknown)
        #expect(await f.cache.lookupHint(path("team")) == .folder)
        #expect(f.upstream.calls.lists == 2 && f.upstream.calls.reads == 2)
    }

    @Test func foldersAreRememberedOnlyAtZeroTTLWithANegativeTTL() async throws {
        for policy in [CachePolicy(ttl: .seconds(5)), CachePolicy(ttl: .zero, negativeTTL: .zero)] {
            let f = CacheFixture(policy: policy)
            f.upstream.set(path("team/app/key"), "one")
            _ = try await f.cache.list(path("team"))
            _ = try await f.read("team/app/key")
            f.clock.advance(by: CachePolicy().coalescingWindow + .milliseconds(1))
            #expect(await f.cache.lookupHint(path("team/app")) == .unknown)
        }
    }

    @Test func aZeroTTLSharesAListingBetweenTheLookupsOfOneMoment() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .zero))
        f.upstream.set(path("x/a"), "one")
        #expect(try await f.cache.list(.root, lookingUp: "x") == Listing(folders: ["x"]))
        #expect(try await f.cache.list(.root, lookingUp: "x") == Listing(folders: ["x"]))
        #expect(f.upstream.calls.lists == 1)
        // A name the kept listing does not show is looked for in a new one.
        f.upstream.set(path("y"), "two")
        #expect(try await f.cache.list(.root, lookingUp: "y") == Listing(secrets: ["y"], folders: ["x"]))
        #expect(f.upstream.calls.lists == 2)
        // A plain listing (a folder's OPENDIR) always reaches the store.
        _ = try await f.cache.list(.root)
        #expect(f.upstream.calls.lists == 3)
        f.clock.advance(by: CachePolicy().coalescingWindow)
        _ = try await f.cache.list(.root, lookingUp: "x")
        #expect(f.upstream.calls.lists == 4)
        // Values are never kept, and nothing is served stale.
        for _ in 0..<2 { #expect(try await f.read("y") == "two") }
        #expect(f.upstream.calls.reads == 2)
        f.clock.advance(by: CachePolicy().coalescingWindow)
        f.upstream.fail(with: .unavailable)
        #expect(await f.failure("y") == .unavailable)
        await #expect(throws: SecretError.self) { _ = try await f.cache.list(.root, lookingUp: "x") }
    }

    @Test func theSecretsAListingBringsAreKeptAsIfRead() async throws {
        let f = CacheFixture()
        f.upstream.listCurrent(true)
        for i in 0..<3 { f.upstream.set(path("x/s\(i)"), "value \(i)") }
        f.upstream.set(path("x/deeper/s"), "deep")
        #expect(try await f.cache.list(path("x")) == Listing(secrets: ["s0", "s1", "s2"], folders: ["deeper"]))
        for i in 0..<3 { #expect(try await f.outcome("x/s\(i)") == ("value \(i)", .hit)) }
        #expect(f.upstream.calls.reads == 0)
        #expect(try await f.read("x/deeper/s") == "deep")
        #expect(f.upstream.calls.reads == 1)
        // A later listing that shows a change replaces the kept value; the TTL still bounds it.
        f.upstream.set(path("x/s0"), "changed")
        f.clock.advance(by: .seconds(100))
        _ = try await f.cache.list(path("x"))
        #expect(try await f.read("x/s0") == "changed")
        #expect(f.upstream.calls.reads == 1)
    }

    /// READDIRPLUS asks for values only where they cost no backend call.
    @Test func aKeptReadAnswersOnlyWhatIsKeptFreshAndNeverAsksTheStore() async throws {
        let f = CacheFixture()
        f.upstream.set(path("x/s"), "listed")
        f.upstream.set(path("x/other"), "never read")
        #expect(try await f.cache.readKept(path("x/s")) == nil)
        f.upstream.listCurrent(true)
        _ = try await f.cache.list(path("x"))
        let kept = try #require(try await f.cache.readKept(path("x/s")))
        let (secret, outcome) = (kept.value, kept.outcome)
        #expect(text(of: secret) == "listed" && outcome == .hit)
        #expect(await f.cache.statistics().hits == 1)
        // Past its TTL it is not fresh: a kept read gives nothing rather than a stale value or a fetch.
        f.clock.advance(by: .seconds(100))
        #expect(try await f.cache.readKept(path("x/s")) == nil)
        #expect(try await f.cache.readKept(path("x/none")) == nil)
        #expect(f.upstream.calls.reads == 0)
        // A miss remembered is still a miss.
        #expect(await f.failure("x/gone") == .notFound)
        await #expect(throws: SecretError.self) { try await f.cache.readKept(path("x/gone")) }
        #expect(f.upstream.calls.reads == 1)
    }

    @Test func aListingTooBigToKeepStillTellsTheTypesOfItsSecrets() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxEntries: 4))
        f.upstream.listCurrent(true)
        for i in 0..<6 { f.upstream.set(path("x/s\(i)"), "value \(i)") }
        _ = try await f.upstream.write(path("x/db"), content: .fields(["user": SecretValue(string: "u")]))
        _ = try await f.cache.list(path("x"))
        #expect(await f.cache.statistics().entries == 1, "the listing alone: its 7 values do not fit in 4")
        let kinds = await f.cache.peekFolders([path("x/s0"), path("x/db"), path("x/unknown")])
        #expect(kinds == [false, true, nil])
        // Forgotten with the rest of what is known of a path when it changes.
        _ = try await f.cache.write(path("x/db"), content: .value(SecretValue(string: "now a value")))
        #expect(await f.cache.peekFolders([path("x/db")]) == [nil])
    }

    @Test func aZeroTTLListingBringsNoValues() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .zero))
        f.upstream.listCurrent(true)
        f.upstream.set(path("x/s"), "value")
        _ = try await f.cache.list(path("x"))
        #expect(try await f.read("x/s") == "value")
        #expect(f.upstream.calls.reads == 1)
        #expect(await f.cache.peek(path("x/s")) == nil)
    }

    @Test func listingsAndVersionsAreCachedToo() async throws {
        let f = CacheFixture()
        f.upstream.set(path("x/a"), "one")
        #expect(try await f.cache.list(.root) == Listing(folders: ["x"]))
        #expect(try await f.cache.list(.root) == Listing(folders: ["x"]))
        #expect(try await f.cache.versions(of: path("x/a")).map(\.id) == ["1"])
        #expect(try await f.cache.versions(of: path("x/a")).map(\.id) == ["1"])
        #expect(f.upstream.calls.lists == 1)
        #expect(f.upstream.calls.versions == 1)
    }
}
