import Foundation
import SecretsCore
import Synchronization
import Testing

/// The random spread of each answer's lifetime (`CachePolicy.refreshJitter`), on the manual clock.
@Suite struct RefreshJitterTests {
    static func policy(jitter: Double) -> CachePolicy {
        CachePolicy(
            ttl: .seconds(100), maxStale: .seconds(1000), negativeTTL: .seconds(10), maxEntries: 100,
            refreshAheadFraction: 0.75, refreshJitter: jitter)
    }

    @Test func aDrawOfOneShortensTheLifetimeByTheWholeJitter() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0.999_999 })
        f.upstream.set(path("a"), "one")
        #expect(try await f.outcome("a") == ("one", .miss))
        f.clock.advance(by: .milliseconds(89_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))  // 90.1 s: past 100 s less 10 %
        #expect(try await f.outcome("a").1 != .hit)
    }

    @Test func aDrawOfZeroKeepsTheWholeTTL() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        f.clock.advance(by: .milliseconds(99_900))
        #expect(try await f.outcome("a") == ("one", .hit))
    }

    @Test func noJitterMeansExactlyTheTTLWhateverTheDraw() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0), refreshAhead: false, spread: { 0.9 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        f.clock.advance(by: .milliseconds(99_900))
        #expect(try await f.outcome("a") == ("one", .hit))
    }

    @Test func eachAnswerDrawsItsOwnSpreadWithinTheBounds() async throws {
        // Draws 0, 0.5, 1-: lifetimes 100 s, 95 s and just over 90 s; expiry spread over the last 10 %.
        let draws = Mutex([0.0, 0.5, 0.999_999])
        let f = CacheFixture(
            policy: Self.policy(jitter: 0.1), refreshAhead: false,
            spread: { draws.withLock { $0.isEmpty ? 0 : $0.removeFirst() } })
        for name in ["a", "b", "c"] {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
        }
        f.clock.advance(by: .milliseconds(92_000))
        #expect(try await f.outcome("a").1 == .hit)
        #expect(try await f.outcome("b").1 == .hit)
        #expect(try await f.outcome("c").1 != .hit)
        f.clock.advance(by: .milliseconds(4_000))  // 96 s
        #expect(try await f.outcome("a").1 == .hit)
        #expect(try await f.outcome("b").1 != .hit)
    }

    @Test func theDefaultIsTenPercent() {
        #expect(CachePolicy().refreshJitter == 0.1)
    }
}
