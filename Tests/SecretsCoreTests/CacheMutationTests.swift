import SecretsCore
import Testing

/// Writes, rotations and change notices through the cache, and the figures it keeps.
@Suite(.timeLimit(.minutes(1))) struct CacheMutationTests {
    @Test func aRotationReplacesTheCachedValue() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        let result = try await f.cache.rotate(RotationRequest(path: path("a")) { SecretValue(string: "rotated") })
        #expect(result.oldVersion == "1")
        #expect(result.newVersion == "2")
        let readsAfterRotation = f.upstream.calls.reads
        #expect(try await f.outcome("a") == ("rotated", .hit))
        #expect(f.upstream.calls.reads == readsAfterRotation)
    }

    @Test func aWriteReplacesTheValueAndTheListingsAbove() async throws {
        let f = CacheFixture()
        f.upstream.set(path("x/a"), "one")
        _ = try await f.read("x/a")
        #expect(try await f.cache.list(path("x")) == Listing(secrets: ["a"]))
        #expect(try await f.cache.list(.root) == Listing(folders: ["x"]))
        _ = try await f.cache.write(path("x/a"), content: .value(SecretValue(string: "two")))
        _ = try await f.cache.write(path("x/b"), content: .value(SecretValue(string: "new")))
        #expect(try await f.read("x/a") == "two")
        #expect(try await f.cache.list(path("x")) == Listing(secrets: ["a", "b"]))
        #expect(f.upstream.calls.writes == 2)
    }

    @Test func aWriteEndsARememberedMiss() async throws {
        let f = CacheFixture()
        #expect(await f.failure("new") == .notFound)
        _ = try await f.cache.write(path("new"), content: .value(SecretValue(string: "here")))
        #expect(try await f.read("new") == "here")
    }

    @Test func onChangeHearsAboutChangedValuesOnly() async throws {
        let f = CacheFixture()
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        #expect(log.all.isEmpty)
        f.clock.advance(by: .seconds(100))
        _ = try await f.read("a")
        #expect(log.all.isEmpty, "an unchanged value is no change")
        f.upstream.set(path("a"), "two")
        f.clock.advance(by: .seconds(100))
        #expect(try await f.read("a") == "two")
        #expect(log.all == [.secret(path("a"), version: nil)])
    }

    @Test func onChangeHearsAboutARefreshAheadThatChangedTheValue() async throws {
        let f = CacheFixture()
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.set(path("a"), "two")
        f.clock.advance(by: .seconds(90))
        _ = try await f.read("a")
        await f.cache.waitForBackgroundWork()
        #expect(log.all == [.secret(path("a"), version: nil)])
        #expect(log.ofValues.map(\.cause) == [.refresh], "found by refresh-ahead, not by a reader")
    }

    @Test func statisticsCountHitsMissesCallsAndErrors() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "PLANTED-statistics-value")
        _ = try await f.read("a")
        _ = try await f.read("a")
        _ = try await f.read("a")
        #expect(await f.failure("missing") == .notFound)
        f.upstream.fail(with: .unavailable)
        #expect(await f.failure("b") == .unavailable)
        f.upstream.fail(with: .permissionDenied)
        #expect(await f.failure("c/d") == .permissionDenied)

        let stats = await f.cache.statistics()
        #expect(stats.hits == 2)
        #expect(stats.misses == 4)
        #expect(stats.backendCalls == 4)
        #expect(stats.hitRate == 2.0 / 6.0)
        #expect(stats.entries == 2)  // a, and the remembered miss
        #expect(stats.errorsByKind == ["not_found": 1, "unavailable": 1, "permission_denied": 1])
        #expect(stats.recentErrors.map(\.path) == ["missing", "b", "c/d"])
        #expect(stats.recentErrors.map(\.kind) == ["not_found", "unavailable", "permission_denied"])
        #expect(stats.recentErrors.allSatisfy { $0.time == f.clock.wallNow() })
        #expect(!"\(stats)".contains("PLANTED"))
    }

    @Test func recentErrorsKeepOnlyTheLastTwenty() async throws {
        // The breaker would stop calling after five failures; this counts what the backend said.
        let f = CacheFixture(policy: CachePolicy(ttl: .zero, breakerThreshold: 0))
        f.upstream.fail(with: .unavailable)
        for index in 0..<25 { #expect(await f.failure("e\(index)") == .unavailable) }
        let recent = await f.cache.statistics().recentErrors
        #expect(recent.count == 20)
        #expect(recent.first?.path == "e5")
        #expect(recent.last?.path == "e24")
    }

    @Test func writeAndRotateErrorsAreCountedAndThrown() async throws {
        let f = CacheFixture()
        f.upstream.fail(with: .permissionDenied)
        await #expect(throws: SecretError.self) {
            _ = try await f.cache.write(path("w"), content: .value(SecretValue(string: "v")))
        }
        await #expect(throws: SecretError.self) {
            _ = try await f.cache.rotate(RotationRequest(path: path("w")) { SecretValue(string: "v") })
        }
        #expect(await f.cache.statistics().errorsByKind["permission_denied"] == 2)
    }
}
