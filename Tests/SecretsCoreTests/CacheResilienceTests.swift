import Testing

@testable import SecretsCore

/// What the cache does when the backend stops answering: the circuit breaker, the per-call deadline
/// and the stale grace, on a clock that moves only when a test moves it (nothing here sleeps).
@Suite(.timeLimit(.minutes(1))) struct CacheResilienceTests {
    static let breakerPolicy = CachePolicy(
        ttl: .seconds(100), maxStale: .seconds(1000), backendTimeout: .seconds(5), breakerThreshold: 3,
        breakerCooldown: .seconds(10), breakerFirstProbe: .seconds(10))

    /// Reads `name` until the breaker has seen `threshold` unavailable answers in a row.
    private func openBreaker(_ f: CacheFixture, reading name: String = "a") async {
        f.upstream.fail(with: .unavailable)
        for _ in 0..<f.cache.policy.breakerThreshold {
            #expect(await f.failure(name) == .unavailable)
        }
    }

    @Test func theBreakerOpensAfterThresholdUnavailableAnswersAndRejectsWithoutCallingUpstream() async {
        let f = CacheFixture(policy: Self.breakerPolicy)
        await openBreaker(f)
        #expect(f.upstream.calls.reads == 3)
        #expect(await f.cache.statistics().breakerState == .open)

        #expect(await f.failure("a") == .unavailable)
        #expect(await f.failure("b") == .unavailable)
        #expect(f.upstream.calls.reads == 3)
        let stats = await f.cache.statistics()
        #expect(stats.breakerRejections == 2)
        #expect(stats.backendCalls == 3)
    }

    @Test func fewerFailuresThanTheThresholdOrAnyAnswerInBetweenKeepItClosed() async throws {
        let f = CacheFixture(policy: Self.breakerPolicy)
        f.upstream.set(path("ok"), "fine")
        f.upstream.fail(with: .unavailable)
        #expect(await f.failure("a") == .unavailable)
        #expect(await f.failure("a") == .unavailable)
        f.upstream.fail(with: nil)
        #expect(await f.failure("missing") == .notFound)  // a NotFound is a healthy backend's answer
        f.upstream.fail(with: .unavailable)
        #expect(await f.failure("a") == .unavailable)
        #expect(await f.failure("a") == .unavailable)
        #expect(await f.cache.statistics().breakerState == .closed)
        #expect(await f.cache.statistics().breakerRejections == 0)
        #expect(f.upstream.calls.reads == 5)
    }

    @Test func afterTheCooldownOneProbeGoesThroughAndItsSuccessClosesTheBreaker() async throws {
        let f = CacheFixture(policy: Self.breakerPolicy)
        await openBreaker(f)
        f.clock.advance(by: .seconds(9))
        #expect(await f.cache.statistics().breakerState == .open)
        #expect(await f.failure("a") == .unavailable)
        #expect(f.upstream.calls.reads == 3)

        f.clock.advance(by: .seconds(1))
        #expect(await f.cache.statistics().breakerState == .halfOpen)
        f.upstream.fail(with: nil)
        f.upstream.set(path("a"), "one")
        f.upstream.set(path("b"), "two")
        let gate = Gate()
        f.upstream.block(with: gate)
        let probe = Task { try await f.read("a") }
        #expect(await eventually { f.upstream.calls.reads == 4 })

        // While the probe is out, every other call is still refused without reaching the backend.
        #expect(await f.failure("b") == .unavailable)
        #expect(f.upstream.calls.reads == 4)

        await gate.release()
        #expect(try await probe.value == "one")
        #expect(await f.cache.statistics().breakerState == .closed)
        #expect(try await f.read("b") == "two")
        #expect(f.upstream.calls.reads == 5)
    }

    @Test func aFailedProbeOpensTheBreakerForAnotherCooldown() async {
        let f = CacheFixture(policy: Self.breakerPolicy)
        await openBreaker(f)
        f.clock.advance(by: .seconds(10))
        #expect(await f.failure("a") == .unavailable)  // the probe, still failing
        #expect(f.upstream.calls.reads == 4)
        #expect(await f.cache.statistics().breakerState == .open)
        f.clock.advance(by: .seconds(5))
        #expect(await f.failure("a") == .unavailable)
        #expect(f.upstream.calls.reads == 4)
        f.clock.advance(by: .seconds(5))
        #expect(await f.cache.statistics().breakerState == .halfOpen)
    }

    /// Issue 27 §7: a fault of a few seconds opened the breaker for the whole cooldown, so the value
    /// changed after it was served 5.6 s late. The first probe now comes soon, and later ones each
    /// twice as late, up to the cooldown; a success starts over.
    @Test func probesComeSoonAfterAFaultAndBackOffUpToTheCooldown() async throws {
        var policy = Self.breakerPolicy
        policy.breakerFirstProbe = .milliseconds(500)
        let f = CacheFixture(policy: policy)
        await openBreaker(f)
        var waits: [Duration] = []
        for _ in 0..<6 {
            var waited: Duration = .zero
            while await f.cache.statistics().breakerState == .open {
                f.clock.advance(by: .milliseconds(100))
                waited += .milliseconds(100)
            }
            waits.append(waited)
            #expect(await f.failure("a") == .unavailable)  // the probe, failing
        }
        #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10)])

        // The fault ends: the next probe closes it, and the wait starts short again.
        f.clock.advance(by: .seconds(10))
        f.upstream.fail(with: nil)
        f.upstream.set(path("a"), "back")
        #expect(try await f.read("a") == "back")
        #expect(await f.cache.statistics().breakerState == .closed)
        await openBreaker(f, reading: "c")
        f.clock.advance(by: .milliseconds(500))
        #expect(await f.cache.statistics().breakerState == .halfOpen)
    }

    @Test func anOpenBreakerStillServesStaleValues() async throws {
        var policy = Self.breakerPolicy
        policy.breakerCooldown = .seconds(500)  // still open once the value has expired
        policy.breakerFirstProbe = .seconds(500)
        let f = CacheFixture(policy: policy)
        f.upstream.set(path("cached"), "kept")
        _ = try await f.read("cached")
        await openBreaker(f)
        f.clock.advance(by: .seconds(101))
        #expect(try await f.outcome("cached") == ("kept", .stale))
        #expect(f.upstream.calls.reads == 4)
        #expect(await f.cache.statistics().breakerRejections == 1)
    }

    @Test func theDeadlineTurnsAHungUpstreamIntoUnavailable() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), backendTimeout: .seconds(2)))
        f.upstream.set(path("a"), "one")
        let gate = Gate()  // never opened while the reader waits: the double ignores cancellation
        f.upstream.block(with: gate)
        let reader = Task { await f.failure("a") }
        #expect(await eventually { f.upstream.calls.reads == 1 && f.clock.sleeperCount == 1 })
        f.clock.advance(by: .milliseconds(1999))
        f.clock.advance(by: .milliseconds(1))
        #expect(await reader.value == .unavailable)
        let stats = await f.cache.statistics()
        #expect(stats.errorsByKind["unavailable"] == 1)
        #expect(stats.entries == 0)

        // The late answer of the abandoned call changes nothing; the next read asks again.
        await gate.release()
        f.upstream.block(with: nil)
        #expect(try await f.read("a") == "one")
        #expect(f.upstream.calls.reads == 2)
    }

    @Test func theCallKnowsItsDeadlineSoTheLayersBelowRaceNoSecondOne() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), backendTimeout: .seconds(2)))
        f.upstream.set(path("a"), "one")
        f.clock.advance(by: .seconds(7))
        let start = f.clock.monotonicNow()
        #expect(try await f.read("a") == "one")
        #expect(f.upstream.calls.readDeadlines == [start + .seconds(2)])
        // Its one timer is gone with the answer.
        #expect(await eventually { f.clock.sleeperCount == 0 })
    }

    @Test func anExpiredValueIsServedStaleAfterTheGraceAndTheSlowCallStillRefreshesIt() async throws {
        let f = CacheFixture(
            policy: CachePolicy(
                ttl: .seconds(100), maxStale: .seconds(1000), backendTimeout: .seconds(5),
                staleGrace: .milliseconds(250)))
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(101))

        let gate = Gate()
        f.upstream.block(with: gate)
        let first = Task { try await f.outcome("a") }
        // Two timers: the call's deadline and the reader's grace.
        #expect(await eventually { f.upstream.calls.reads == 2 && f.clock.sleeperCount == 2 })
        f.clock.advance(by: .milliseconds(250))
        #expect(try await first.value == ("one", .stale))

        // The call is known to be slow now: later readers get the stale value without waiting.
        #expect(try await f.outcome("a") == ("one", .stale))
        #expect(f.upstream.calls.reads == 2)
        #expect(await f.cache.statistics().staleServes == 2)

        // The call answers within its deadline: the entry is refreshed, and the next read is a hit.
        f.upstream.set(path("a"), "two")
        await gate.release()
        #expect(await eventually { await f.cache.freshness(of: .secret(path("a"), version: nil))?.expired == false })
        #expect(try await f.outcome("a") == ("two", .hit))
        #expect(f.upstream.calls.reads == 2)
    }

    @Test func aCallAnsweringWithinTheGraceIsAMissNotAStaleServe() async throws {
        let f = CacheFixture()
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(101))
        f.upstream.set(path("a"), "two")
        #expect(try await f.outcome("a") == ("two", .miss))
        #expect(await f.cache.statistics().staleServes == 0)
    }

    @Test func withoutAStaleValueAHungCallFailsAtItsDeadline() async throws {
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxStale: .zero, backendTimeout: .seconds(3)))
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.clock.advance(by: .seconds(101))
        let gate = Gate()
        f.upstream.block(with: gate)
        let reader = Task { await f.failure("a") }
        #expect(await eventually { f.clock.sleeperCount == 1 })
        f.clock.advance(by: .milliseconds(250))
        f.clock.advance(by: .seconds(2))
        #expect(f.clock.sleeperCount == 1)
        f.clock.advance(by: .milliseconds(750))
        #expect(await reader.value == .unavailable)
        await gate.release()
    }

    // MARK: Values leave memory zeroed

    @Test func theZeroingRoutineClearsEveryByte() {
        var bytes: [UInt8] = Array("a value that must not linger".utf8)
        bytes.withUnsafeMutableBytes { SecretValue.zero($0) }
        #expect(bytes.allSatisfy { $0 == 0 })
        var empty: [UInt8] = []
        empty.withUnsafeMutableBytes { SecretValue.zero($0) }  // no crash on an empty buffer
        #expect(empty.isEmpty)
        var copy: [UInt8] = Array("a temporary copy of a value".utf8)
        copy.zeroize()
        #expect(copy.count == 27 && copy.allSatisfy { $0 == 0 }, "zeroize keeps the length and clears every byte")
    }

    @Test func anEvictedOrReplacedValueIsReleased() async throws {
        // Storage is a class: a weak reference to it shows when the last copy of the value is gone,
        // which is when its deinit zeroes the bytes (reading them after that would read freed memory).
        let f = CacheFixture(policy: CachePolicy(ttl: .seconds(100), maxEntries: 1))
        weak var storage: AnyObject?
        do {
            let value = SecretValue(string: "first-value")
            // SecretValue's one stored property is its Storage reference; `storage` is private, so the
            // reference is read through the value's layout (checked to be exactly one reference).
            try #require(MemoryLayout<SecretValue>.size == MemoryLayout<AnyObject>.size)
            let reference = unsafeBitCast(value, to: AnyObject.self)
            #expect(reference is SecretValue.Storage)
            storage = reference
            _ = try await f.cache.write(path("a"), content: .value(value))
        }
        _ = try await f.read("a")  // the cache holds the double's copy, which shares the storage
        #expect(storage != nil)
        f.upstream.set(path("a"), "second-value")  // the double lets go of its copy
        f.upstream.set(path("b"), "other")
        _ = try await f.read("b")  // over the bound: the entry for "a" leaves the cache
        #expect(await f.cache.statistics().evictions >= 1)
        #expect(await eventually { storage == nil })
    }
}
