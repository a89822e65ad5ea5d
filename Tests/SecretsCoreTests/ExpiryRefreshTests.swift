import Logging
import Testing

@testable import SecretsCore

/// `FreshnessService` by the clock: an answer a reader asked for is fetched again when its lifetime ends,
/// with no reader waiting; one nobody asked for since is left to expire. On the manual clock.
@Suite struct ExpiryRefreshTests {
    static let policy = CachePolicy(
        ttl: .seconds(100), maxStale: .seconds(1000), negativeTTL: .seconds(10), maxEntries: 100, refreshJitter: 0)

    /// A fixture whose expiry refreshes run, and the task to cancel at the end.
    static func running(
        _ policy: CachePolicy = Self.policy, spread: @escaping @Sendable () -> Double = { 0 }
    ) async -> (CacheFixture, Task<Void, Never>) {
        // The service starts refresh-ahead itself: the fixture runs none of its own.
        let f = CacheFixture(policy: policy, refreshAhead: false, spread: spread)
        let service = f.freshness(.byClock)
        let task = Task { await service.run() }
        #expect(await eventually { f.clock.sleeperCount == 1 })
        return (f, task)
    }

    /// Moves the clock and waits until the service has looked at what fell due, the calls it
    /// started have answered and it sleeps again (`isIdle(with:on:)`: a call's deadline timer is a
    /// sleeper too).
    static func advance(_ f: CacheFixture, by duration: Duration) async {
        f.clock.advance(by: duration)
        #expect(await eventually { await f.cache.isIdle(with: 1, on: f.clock) })
    }

    @Test func aValueReadIsFetchedAgainAtItsExpiryWithNoReaderWaiting() async throws {
        let (f, task) = await Self.running()
        defer { task.cancel() }
        f.upstream.set(path("a"), "one")
        #expect(try await f.outcome("a") == ("one", .miss))
        await Self.advance(f, by: .seconds(99))
        #expect(f.upstream.calls.reads == 1)
        await Self.advance(f, by: .seconds(1))
        #expect(f.upstream.calls.reads == 2)
        #expect(try await f.outcome("a") == ("one", .hit))
        #expect(await f.cache.freshLeft(.secret(path("a"), version: nil)) == .seconds(100))
    }

    @Test func aValueNobodyAskedForSinceItsFetchIsLeftToExpire() async throws {
        let (f, task) = await Self.running()
        defer { task.cancel() }
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        await Self.advance(f, by: .seconds(100))
        #expect(f.upstream.calls.reads == 2)
        // Not read during the refreshed answer's lifetime: no fetch at its end.
        await Self.advance(f, by: .seconds(100))
        #expect(f.upstream.calls.reads == 2)
        await Self.advance(f, by: .seconds(300))
        #expect(f.upstream.calls.reads == 2)
        #expect(try await f.outcome("a") == ("one", .miss))
        #expect(f.upstream.calls.reads == 3)
    }

    @Test func aChangeAtTheStoreIsSeenAndAnnouncedAtTheExpiry() async throws {
        let (f, task) = await Self.running()
        defer { task.cancel() }
        let changes = ChangeLog()
        await f.cache.onChange { changes.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        f.upstream.set(path("a"), "two")
        await Self.advance(f, by: .seconds(100))
        #expect(changes.all == [.secret(path("a"), version: nil)])
        #expect(changes.ofValues.first?.cause == .refresh)
        #expect(try await f.outcome("a") == ("two", .hit))
    }

    @Test func aListingReadIsFetchedAgainAtItsExpiry() async throws {
        let (f, task) = await Self.running()
        defer { task.cancel() }
        f.upstream.set(path("team/a"), "one")
        _ = try await f.cache.list(path("team"))
        #expect(f.upstream.calls.lists == 1)
        f.upstream.set(path("team/b"), "two")
        await Self.advance(f, by: .seconds(100))
        #expect(f.upstream.calls.lists == 2)
        #expect(try await f.cache.list(path("team")).secrets.sorted() == ["a", "b"])
        #expect(f.upstream.calls.lists == 2)
    }

    /// Their freshness rounds confirm values by one listing; a read per value at expiry would undo that.
    @Test func storesThatListVersionsAreNotRefreshedAtExpiry() async throws {
        let upstream = StoreDouble(capabilities: [.versions, .versionListing])
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: upstream, policy: Self.policy, clock: clock, logger: Logger(label: "secretsfs.tests.expiry"))
        let service = FreshnessService(
            cache: cache, prefetch: Prefetch(patterns: []), interval: nil, clock: clock,
            logger: Logger(label: "secretsfs.tests.expiry"), strategy: .byClock)
        let task = Task { await service.run() }
        defer { task.cancel() }
        #expect(await eventually { clock.sleeperCount == 1 })
        upstream.set(path("a"), "one")
        _ = try await cache.read(path("a"))
        clock.advance(by: .seconds(100))
        #expect(await eventually { await cache.isIdle(with: 1, on: clock) })
        #expect(upstream.calls.reads == 1)
    }

    static let jittered = CachePolicy(
        ttl: .seconds(100), maxStale: .seconds(1000), negativeTTL: .seconds(10), maxEntries: 100, refreshJitter: 0.1)

    /// With a spread (TTL 100 s, J 10 %: a cycle of 95 s) the fetch comes J/4 of the TTL before the
    /// end, so the reader at the end finds the new answer. A name in use keeps its point of the
    /// cycle: the answer of a call that took 2 s is due one cycle after the last one was.
    @Test func aValueInUseIsFetchedJustBeforeItsEndAndKeepsItsPointOfTheCycle() async throws {
        let (f, task) = await Self.running(Self.jittered, spread: { 0.5 })
        defer { task.cancel() }
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        #expect(await f.cache.freshLeft(.secret(path("a"), version: nil)) == .milliseconds(47_500))
        let gate = Gate()
        f.upstream.block(with: gate)
        await Self.advance(f, by: .milliseconds(44_900))
        #expect(f.upstream.calls.reads == 1)
        f.clock.advance(by: .milliseconds(100))
        #expect(await eventually { f.upstream.calls.reads == 2 })
        f.clock.advance(by: .seconds(2))
        await gate.release()
        await f.cache.waitForBackgroundWork()
        // Came at 47 s, due at 47.5 s + 95 s.
        let left = try #require(await f.cache.freshLeft(.secret(path("a"), version: nil)))
        #expect(abs(left.seconds - 95.5) < 0.001)
        f.clock.advance(by: .milliseconds(500))
        #expect(try await f.outcome("a") == ("one", .hit))
    }

    /// While the service runs, refresh-ahead is its job: a read late in a lifetime queues nothing.
    @Test func whileTheServiceRunsALateReadQueuesNoRefreshAhead() async throws {
        let (f, task) = await Self.running(Self.jittered, spread: { 0.5 })
        defer { task.cancel() }
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        // 40 s of a 47.5 s lifetime: past refresh-ahead's 75 %, before the service's 45 s.
        await Self.advance(f, by: .seconds(40))
        #expect(try await f.outcome("a") == ("one", .hit))
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 1)
        await Self.advance(f, by: .seconds(5))
        #expect(f.upstream.calls.reads == 2)
    }

    /// The service sleeps until the next refresh is due, but never longer than the soonest one an
    /// answer stored meanwhile can have (J/4 of the TTL: half the shortest lifetime), so none is late.
    @Test func itWakesForTheNextExpiryAndNoLaterThanTheShortestLifetime() async throws {
        let jittered = CacheFixture(
            policy: CachePolicy(ttl: .seconds(100), maxEntries: 100, refreshJitter: 0.1), refreshAhead: false,
            spread: { 0.5 })
        #expect(await jittered.cache.refreshExpiring() == .milliseconds(2_500))
        let plain = CacheFixture(policy: Self.policy, refreshAhead: false)
        #expect(await plain.cache.refreshExpiring() == .seconds(100))
        plain.upstream.set(path("a"), "one")
        _ = try await plain.outcome("a")
        plain.clock.advance(by: .seconds(97))
        #expect(await plain.cache.refreshExpiring() == .seconds(3))
    }

    @Test func theScheduleGivesMomentsSoonestFirst() {
        var schedule = ExpirySchedule()
        var moments = (0..<200).map { _ in Int.random(in: 0..<1000) }
        for (index, moment) in moments.enumerated() {
            schedule.insert(.secret(path("s\(index)"), version: nil), at: .seconds(moment))
        }
        #expect(schedule.takeDue(at: .seconds(-1)) == nil)
        var taken: [Int] = []
        while let due = schedule.takeDue(at: .seconds(1000)) { taken.append(Int(due.at.components.seconds)) }
        moments.sort()
        #expect(taken == moments)
        #expect(schedule.count == 0)
    }
}
