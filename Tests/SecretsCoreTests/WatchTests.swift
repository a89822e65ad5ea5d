import Synchronization
import Testing

@testable import SecretsCore

/// `FreshnessService.Watch` subscribes: a watched value nobody reads is fetched again by the cache as it
/// expires (one read a TTL, the cache its one reader), the watch reads nothing it finds held fresh, and
/// a change at the store is announced. On the manual clock: TTL 100 s, no spread, paths found every 30 s.
@Suite struct WatchTests {
    static func running(
        _ strategy: FreshnessService.Strategy, paths: [SecretPath]
    ) async -> (CacheFixture, Task<Void, Never>) {
        let f = CacheFixture(refreshAhead: false)
        var service = f.freshness(strategy)
        service.watches = [FreshnessService.Watch(period: .seconds(30)) { paths }]
        let task = Task { [service] in await service.run() }
        // The expiry loop and the watch's.
        #expect(await eventually { f.clock.sleeperCount == 2 })
        return (f, task)
    }

    /// Moves the clock in steps of 10 s, each time until both loops wait again and no call runs (a
    /// call's deadline is a sleeper too, so both are asked at one moment: once both loops sleep,
    /// nothing starts until the clock moves).
    static func advance(_ f: CacheFixture, to end: Duration) async {
        while f.clock.monotonicNow() < end {
            f.clock.advance(by: .seconds(10))
            let settled = await eventually { await f.cache.isIdle(with: 2, on: f.clock) }
            #expect(settled)
        }
    }

    @Test(arguments: [FreshnessService.Strategy.byClock, .readAhead])
    func aWatchedValueNobodyReadsIsFetchedOnceATTLByTheCacheAlone(_ strategy: FreshnessService.Strategy)
        async throws
    {
        let (f, task) = await Self.running(strategy, paths: [path("app/token")])
        defer { task.cancel() }
        let changes = ChangeLog()
        await f.cache.onChange { changes.record($0) }
        f.upstream.set(path("app/token"), "one")
        // The first round (at 30 s) reads it; then it is fetched again at each expiry: 130 and 230 s.
        await Self.advance(f, to: .seconds(320))
        #expect(f.upstream.calls.reads == 3)
        let figures = await f.cache.statistics()
        // The rounds between found it held fresh and read nothing through the cache.
        #expect(figures.hits == 0)
        #expect(figures.misses == 1)
        #expect(figures.refreshes == 2)
        #expect(changes.all.isEmpty)
        f.upstream.set(path("app/token"), "two")
        // At 330 s the expiry and a round fall together: whichever comes first fetches, once.
        await Self.advance(f, to: .seconds(420))
        #expect(f.upstream.calls.reads == 4)
        #expect(changes.ofValues.count == 1)
        #expect(try await f.outcome("app/token") == ("two", .hit))
    }

    /// A path naming a field watches the secret above it, read once; its field stays a hit.
    @Test func aWatchedFieldKeepsItsSecretFresh() async throws {
        let (f, task) = await Self.running(.byClock, paths: [path("db/password")])
        defer { task.cancel() }
        f.upstream.setFields(path("db"), ["password": "p1", "username": "u1"])
        await Self.advance(f, to: .seconds(240))
        // At 30 s: the field's own path (not found), then the secret; later rounds read nothing.
        #expect(f.upstream.calls.readsByPath[path("db")] == 3)
        #expect(f.upstream.calls.readsByPath[path("db/password")] == 1)
    }

    /// A path no longer watched is left to expire, as any value nobody reads.
    @Test func aPathNoLongerWatchedIsLeftToExpire() async throws {
        let watched = WatchedPaths([path("a")])
        let f = CacheFixture(refreshAhead: false)
        var service = f.freshness(.byClock)
        service.watches = [FreshnessService.Watch(period: .seconds(30)) { watched.paths }]
        let task = Task { [service] in await service.run() }
        defer { task.cancel() }
        #expect(await eventually { f.clock.sleeperCount == 2 })
        f.upstream.set(path("a"), "one")
        await Self.advance(f, to: .seconds(140))
        #expect(f.upstream.calls.reads == 2)
        watched.paths = []
        // The round at 150 s forgets it; a value read since its fetch is fetched once more at most.
        await Self.advance(f, to: .seconds(340))
        let reads = f.upstream.calls.reads
        #expect(reads <= 3)
        await Self.advance(f, to: .seconds(640))
        #expect(f.upstream.calls.reads == reads)
    }
}

final class WatchedPaths: Sendable {
    private let lock = Mutex<[SecretPath]>([])
    init(_ paths: [SecretPath]) { lock.withLock { $0 = paths } }
    var paths: [SecretPath] {
        get { lock.withLock { $0 } }
        set { lock.withLock { $0 = newValue } }
    }
}
