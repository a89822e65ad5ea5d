import SecretsCore
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// Refresh-ahead: queued by the cache, started by the freshness service, stopped at graceful shutdown.
@Suite(.timeLimit(.minutes(1))) struct RefreshAheadServiceTests {
    @Test func withoutTheServiceALateReadIsAHitAndNothingIsFetched() async throws {
        let f = CacheFixture(refreshAhead: false)
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(80))
        #expect(try await f.outcome("a") == ("one", .hit))
        for _ in 0..<100 { await Task.yield() }
        #expect(f.upstream.calls.reads == 1)
        #expect(await f.cache.statistics().refreshes == 0)
    }

    @Test func theServiceRefreshesAndStopsAtGracefulShutdown() async throws {
        let f = CacheFixture(refreshAhead: false)
        f.upstream.set(path("a"), "one")
        f.upstream.set(path("b"), "one")
        _ = try await f.read("a")
        _ = try await f.read("b")
        try await testGracefulShutdown { shutdown in
            let service = f.freshness(.readAhead)
            let running = Task { await service.run() }
            f.upstream.set(path("a"), "two")
            f.clock.advance(by: .seconds(80))
            _ = try await f.read("a")
            await f.cache.waitForBackgroundWork()
            #expect(f.upstream.calls.readsByPath[path("a")] == 2)
            #expect(try await f.outcome("a") == ("two", .hit))

            shutdown.triggerGracefulShutdown()
            await running.value
            // Stopped: a late read of "b" is still answered from the cache, and nobody fetches it.
            #expect(try await f.outcome("b") == ("one", .hit))
            for _ in 0..<100 { await Task.yield() }
            #expect(f.upstream.calls.readsByPath[path("b")] == 1)
            #expect(await f.cache.statistics().refreshes == 1)
        }
    }

    @Test func aServiceGroupRunsItAndShutdownEndsIt() async throws {
        let f = CacheFixture(refreshAhead: false)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: f.freshness(.readAhead))], logger: .init(label: "t")))
        let running = Task { try await group.run() }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(90))
        _ = try await f.read("a")
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 2)
        await group.triggerGracefulShutdown()
        try await running.value
    }

    @Test func aKeyIsQueuedOnceHoweverManyLateReads() async throws {
        let f = CacheFixture(refreshAhead: false)
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(80))
        for _ in 0..<20 { _ = try await f.read("a") }
        let service = f.freshness(.readAhead)
        let running = Task { await service.run() }
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 2)
        #expect(await f.cache.statistics().refreshes == 1)
        await f.cache.shutdown()
        await running.value
    }

    @Test func breakerStatesPrintTheirContractText() {
        #expect(BreakerState.closed.rawValue == "closed")
        #expect(BreakerState.open.rawValue == "open")
        #expect(BreakerState.halfOpen.rawValue == "half_open")
    }
}
