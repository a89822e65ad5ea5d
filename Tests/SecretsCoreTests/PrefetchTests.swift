import Logging
import SecretStoreConformance
import SecretsCore
import Synchronization
import Testing

/// The in-memory reference store, counting what the cache asks of it, with paths told to fail and
/// (optionally) a listing of current versions, as AWS's `ListSecrets` gives.
final class CountingStore: SecretStore {
    struct Counts: Sendable {
        var reads: [SecretPath: Int] = [:]
        var lists: [SecretPath: Int] = [:]
        var versionListings = 0
    }

    let inner = InMemorySecretStore()
    let descriptor = StoreDescriptor(backend: "counting", address: "memory", capabilities: [.versions, .write])
    let listsVersions: Bool
    private let state = Mutex((counts: Counts(), failing: Set<SecretPath>(), paths: Set<SecretPath>()))

    init(listsVersions: Bool = false) { self.listsVersions = listsVersions }

    var counts: Counts { state.withLock { $0.counts } }
    var reads: Int { counts.reads.values.reduce(0, +) }

    func failing(_ path: SecretPath) { _ = state.withLock { $0.failing.insert(path) } }

    func set(_ string: String, _ value: String) async throws {
        let path = try SecretPath(string)
        _ = try await inner.write(path, content: .value(SecretValue(string: value)))
        _ = state.withLock { $0.paths.insert(path) }
    }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        let fails = state.withLock { state in
            state.counts.reads[path, default: 0] += 1
            return state.failing.contains(path)
        }
        if fails { throw SecretError(.unavailable, "told to fail", path: path) }
        return try await inner.read(path, version: version)
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        state.withLock { $0.counts.lists[folder, default: 0] += 1 }
        return try await inner.list(folder)
    }

    func currentVersions() async throws -> VersionListing? {
        guard listsVersions else { return nil }
        let paths = state.withLock { state in
            state.counts.versionListings += 1
            return state.paths
        }
        var versions: [SecretPath: String] = [:]
        for path in paths { versions[path] = try await inner.read(path, version: nil).version }
        return VersionListing(versions: versions, requests: 1)
    }

    func health() async -> HealthReport { HealthReport(healthy: true, detail: "memory") }
}

@Suite struct PrefetchTests {
    let logger = Logger(label: "secretsfs.tests.prefetch")

    func fixture(listsVersions: Bool = false) async throws -> (CountingStore, CachingSecretStore, ManualTimeSource) {
        let store = CountingStore(listsVersions: listsVersions)
        for name in ["a/x", "a/y", "a/sub/z", "b/w", "c/d/e", "top"] { try await store.set(name, "value of \(name)") }
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: store, policy: CacheFixture.policy, clock: clock, logger: logger, random: { 0 })
        return (store, cache, clock)
    }

    @Test func matchesOnlyWhatAPatternNamesAndWalksOnlyFoldersItCanReach() async throws {
        let (store, cache, clock) = try await fixture()
        let prefetch = Prefetch(patterns: ["a/*", "c/**"])
        let figures = await prefetch.run(into: cache, clock: clock, logger: logger).figures
        #expect(figures.matched == 3)
        #expect(figures.read == 3)
        #expect(figures.failed == 0)
        #expect(store.counts.lists[path("b")] == nil, "b cannot hold a match: not walked")
        #expect(store.counts.lists[path("a/sub")] == nil, "a/* matches one level only")
        #expect(store.counts.reads.keys.sorted() == [path("a/x"), path("a/y"), path("c/d/e")])
        #expect(await cache.statistics().prefetch == figures)
    }

    @Test func thePrefetchedAreHitsAndTheRestMisses() async throws {
        let (store, cache, clock) = try await fixture()
        await Prefetch(patterns: ["a/**", "top"]).run(into: cache, clock: clock, logger: logger)
        let before = store.reads
        for name in ["a/x", "a/y", "a/sub/z", "top"] {
            let answer = try await cache.readWithOutcome(path(name), version: nil)
            let (secret, outcome) = (answer.value, answer.outcome)
            #expect(outcome == .hit, "\(name)")
            #expect(text(of: secret) == "value of \(name)")
        }
        #expect(store.reads == before)
        #expect(try await cache.readWithOutcome(path("b/w"), version: nil).outcome == .miss)
    }

    @Test func aStoreWithAListingOfVersionsIsNotWalkedFolderByFolder() async throws {
        let (store, cache, clock) = try await fixture(listsVersions: true)
        let figures = await Prefetch(patterns: ["a/**"]).run(into: cache, clock: clock, logger: logger).figures
        #expect(figures.matched == 3)
        #expect(figures.read == 3)
        #expect(store.counts.versionListings == 1)
        #expect(store.counts.lists.isEmpty, "one listing of versions instead of a listing per folder")
        // The folders on the way to the matches are cached as a walk would have left them.
        #expect(try await cache.list(path("a")) == Listing(secrets: ["x", "y"], folders: ["sub"]))
        #expect(try await cache.list(path("a/sub")) == Listing(secrets: ["z"]))
        #expect(try await cache.list(.root) == Listing(secrets: ["top"], folders: ["a", "b", "c"]))
        #expect(store.counts.lists.isEmpty)
        #expect(try await cache.readWithOutcome(path("a/sub/z"), version: nil).outcome == .hit)
    }

    @Test func aSecretThatFailsIsCountedAndReadOnDemandLater() async throws {
        let (store, cache, clock) = try await fixture()
        store.failing(path("a/y"))
        let (figures, read) = await Prefetch(patterns: ["a/*"]).run(into: cache, clock: clock, logger: logger)
        #expect(figures.matched == 2)
        #expect(figures.read == 1)
        #expect(figures.failed == 1)
        #expect(read == [path("a/x")], "what the mount looks up through the kernel: the secrets read")
        #expect(try await cache.readWithOutcome(path("a/x"), version: nil).outcome == .hit)
        await #expect(throws: SecretError.self) { try await cache.read(path("a/y")) }
    }

    @Test func aBulkReadOfTheDefaultKindReadsAtMostEightAtOnce() async throws {
        let probe = ConcurrencyProbe()
        let answer = await BulkRead.oneByOne(probe, (0..<40).map { path("s\($0)") })
        #expect(answer.results.count == 40)
        #expect(answer.requests == 40)
        #expect(probe.highest <= BulkRead.concurrency)
        #expect(probe.highest > 1)
    }

    @Test func aRoundConfirmsTheUnchangedAndReadsOnlyTheChanged() async throws {
        let (store, cache, clock) = try await fixture(listsVersions: true)
        let changes = ChangeLog()
        await cache.onChange { changes.record($0) }
        _ = try await cache.read(path("a/x"))
        _ = try await cache.read(path("b/w"))
        try await store.set("b/w", "changed")
        clock.advance(by: .seconds(60))
        let service = FreshnessService(
            cache: cache, prefetch: Prefetch(patterns: []), interval: nil, clock: clock, logger: logger)
        let round = await service.round()
        #expect(round == .init(listed: true, confirmed: 1, fetched: 1, failed: 0))
        #expect(store.counts.reads[path("a/x")] == 1, "unchanged: no read")
        #expect(store.counts.reads[path("b/w")] == 2)
        #expect(changes.all == [.secret(path("b/w"), version: nil)])
        // Confirmed at 60 s, so fresh until 160 s although first read at 0.
        clock.advance(by: .seconds(90))
        #expect(try await cache.readWithOutcome(path("a/x"), version: nil).outcome == .hit)
        #expect(text(of: try await cache.read(path("b/w"))) == "changed")
        #expect(await cache.statistics().confirmedFresh == 1)
    }

    @Test func aRoundMakesTheCachedFolderListingsAnewFromTheSameAnswer() async throws {
        let (store, cache, clock) = try await fixture(listsVersions: true)
        let changes = ChangeLog()
        await cache.onChange { changes.record($0) }
        _ = try await cache.read(path("a/x"))
        #expect(try await cache.list(path("a")) == Listing(secrets: ["x", "y"], folders: ["sub"]))
        #expect(try await cache.list(.root).folders == ["a", "b", "c"])
        try await store.set("a/new", "a new one")
        try await store.set("fresh/one", "a new folder")
        let service = FreshnessService(
            cache: cache, prefetch: Prefetch(patterns: []), interval: nil, clock: clock, logger: logger)
        await service.round()
        #expect(try await cache.list(path("a")) == Listing(secrets: ["x", "y", "new"], folders: ["sub"]))
        #expect(try await cache.list(.root).folders == ["a", "b", "c", "fresh"])
        #expect(store.counts.lists[path("a")] == 1, "made from the listing of versions, not listed again")
        #expect(store.counts.lists[.root] == 1)
        #expect(Set(changes.all) == [.listing(path("a")), .listing(.root)])
    }

    @Test func withoutAVersionListingOnlyThePrefetchedAreReadAgain() async throws {
        let (store, cache, clock) = try await fixture()
        let prefetch = Prefetch(patterns: ["a/*"])
        await prefetch.run(into: cache, clock: clock, logger: logger)
        _ = try await cache.read(path("b/w"))
        let service = FreshnessService(cache: cache, prefetch: prefetch, interval: nil, clock: clock, logger: logger)
        let round = await service.round()
        #expect(round == .init(listed: false, confirmed: 0, fetched: 2, failed: 0))
        #expect(store.counts.reads[path("a/x")] == 2)
        #expect(store.counts.reads[path("b/w")] == 1)
    }

    @Test func theRoundsComeBeforeRefreshAheadWouldFetch() {
        let policy = CachePolicy(ttl: .seconds(100), refreshAheadFraction: 0.75, refreshJitter: 0.1)
        let period = FreshnessService.period(interval: .seconds(100), policy: policy)
        #expect(abs(period.seconds - 67.5) < 0.001)
        #expect(FreshnessService.period(interval: .seconds(6), policy: policy) == .seconds(6))
    }
}

/// Records the most reads it ever had running at once.
final class ConcurrencyProbe: SecretStore {
    let descriptor = StoreDescriptor(backend: "probe", address: "memory", capabilities: [])
    private let state = Mutex((running: 0, highest: 0))
    var highest: Int { state.withLock { $0.highest } }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        state.withLock { state in
            state.running += 1
            state.highest = max(state.highest, state.running)
        }
        try await Task.sleep(for: .milliseconds(5))
        state.withLock { $0.running -= 1 }
        return Secret(content: .value(SecretValue(string: "v")), version: "1", createdAt: nil)
    }

    func list(_ folder: SecretPath) async throws -> Listing { Listing() }
    func health() async -> HealthReport { HealthReport(healthy: true, detail: "probe") }
}
