import Foundation
import Logging
import SecretsCore
import Testing

/// The spread of each answer's lifetime (`CachePolicy.refreshJitter` J), on the manual clock. With a
/// TTL of 100 s and J of 10 % the cycle is 95 s: a later answer lives it; the k-th first answer is
/// due at the moment of the cycle 95 s × frac(phase + k × 0.618…), between 5 s and 100 s from its
/// fetch. Never past the TTL.
@Suite struct RefreshJitterTests {
    static func policy(jitter: Double) -> CachePolicy {
        CachePolicy(
            ttl: .seconds(100), maxStale: .seconds(1000), negativeTTL: .seconds(10), maxEntries: 1000,
            refreshAheadFraction: 0.75, refreshJitter: jitter)
    }

    /// How long the answer the cache holds for `name` stays fresh from now.
    static func left(_ f: CacheFixture, _ name: String) async -> Double {
        await f.cache.freshLeft(.secret(path(name), version: nil))?.seconds ?? -1
    }

    /// The moment of the 95 s cycle at which the answer for `name` is due.
    static func point(_ f: CacheFixture, _ name: String) async -> Double {
        let due = f.clock.monotonicNow().seconds + (await left(f, name))
        return due - 95 * (due / 95).rounded(.down)
    }

    @Test func aLaterAnswerLivesTheTTLLessHalfTheJitter() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0.5 })
        f.upstream.set(path("a"), "one")
        #expect(try await f.outcome("a") == ("one", .miss))
        // The first answer, due half way through the cycle: at 47.5 s.
        #expect(abs(await Self.left(f, "a") - 47.5) < 0.001)
        f.clock.advance(by: .milliseconds(47_400))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        // The answer that replaces it: 100 s less 5 %, whatever the draw.
        #expect(try await f.outcome("a").1 != .hit)
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
        f.clock.advance(by: .milliseconds(94_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        #expect(try await f.outcome("a").1 != .hit)
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
    }

    /// The point is counted on the mount's clock, not from the fetch: a first read 30 s after the
    /// start is due at the same moment of the cycle as one at the start.
    @Test func aFirstAnswerIsDueAtItsPointOfTheCycleWhenEverItIsFetched() async throws {
        for (wait, expected) in [(0.0, 95.0), (30, 65), (94, 96), (96, 94)] {
            let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0 })
            f.upstream.set(path("a"), "one")
            f.clock.advance(by: .seconds(wait))
            _ = try await f.outcome("a")
            #expect(abs(await Self.left(f, "a") - expected) < 0.001, "read after \(wait) s")
        }
    }

    @Test func noJitterMeansExactlyTheTTLWhateverTheDraw() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0), refreshAhead: false, spread: { 0.9 })
        for name in ["a", "b"] {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
            #expect(await Self.left(f, name) == 100)
        }
        f.clock.advance(by: .milliseconds(99_900))
        #expect(try await f.outcome("a") == ("a", .hit))
        f.clock.advance(by: .milliseconds(200))
        #expect(try await f.outcome("a").1 != .hit)
        #expect(await Self.left(f, "a") == 100)
    }

    /// From phase 0 the first three answers are due at 0, 0.618… and 0.236… of the cycle: 95 s,
    /// 58.71 s and 22.43 s after a start at 0.
    @Test func firstAnswersFollowTheGoldenRatioSequence() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0 })
        for name in ["a", "b", "c"] {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
        }
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
        #expect(abs(await Self.left(f, "b") - 95 * 0.618_034) < 0.001)
        #expect(abs(await Self.left(f, "c") - 95 * 0.236_068) < 0.001)
        f.clock.advance(by: .seconds(22))
        #expect(try await f.outcome("c").1 == .hit)
        f.clock.advance(by: .seconds(1))
        #expect(try await f.outcome("c").1 != .hit)
        #expect(try await f.outcome("b").1 == .hit)
    }

    /// A deploy reads its names together, each read taking its own time: their first answers are
    /// due evenly over the cycle all the same, so their next fetches are spread over it at once,
    /// with neither the bunches nor the gaps of independent draws.
    @Test func firstAnswersAreDueEvenlyOverTheCycle() async throws {
        for phase in [0.0, 0.37, 0.91] {
            let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { phase })
            var points: [Double] = []
            for name in (0..<400).map({ "s\($0)" }) {
                f.upstream.set(path(name), name)
                f.clock.advance(by: .milliseconds(Int.random(in: 0...50)))
                #expect(try await f.outcome(name).1 == .miss)
                let left = await Self.left(f, name)
                #expect(left >= 5 && left <= 100)
                points.append(await Self.point(f, name))
            }
            // Each tenth of the cycle holds 40 give or take 3 (independent draws: give or take 6
            // for one in three tenths).
            var tenths = [Int](repeating: 0, count: 10)
            for point in points { tenths[min(9, Int(point / 9.5))] += 1 }
            #expect(tenths.allSatisfy { abs($0 - 40) <= 3 }, "\(tenths)")
            // The first 20, one mount's deploy: every tenth holds one to three.
            var first = [Int](repeating: 0, count: 10)
            for point in points.prefix(20) { first[min(9, Int(point / 9.5))] += 1 }
            #expect(first.allSatisfy { (1...3).contains($0) }, "\(first)")
        }
    }

    @Test func laterAnswersAllLiveTheSame() async throws {
        let f = CacheFixture(
            policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { Double.random(in: 0..<1) })
        let names = (0..<200).map { "s\($0)" }
        for name in names {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
        }
        f.clock.advance(by: .seconds(101))
        for name in names {
            #expect(try await f.outcome(name).1 == .miss)
            #expect(abs(await Self.left(f, name) - 95) < 0.001)
        }
    }

    /// Names that recover from an outage together would otherwise stay in step: an answer that
    /// replaces one served stale is placed as a first answer again.
    @Test func anAnswerAfterAStaleServeIsSpreadAgain() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
        f.clock.advance(by: .seconds(96))
        f.upstream.fail(with: .unavailable)
        #expect(try await f.outcome("a") == ("one", .stale))
        f.upstream.fail(with: nil)
        #expect(try await f.outcome("a").1 == .miss)
        // The second point of the sequence (0.618… of the cycle, 153.71 s), not the 95 s of a later answer.
        #expect(abs(await Self.left(f, "a") - (95 + 95 * 0.618_034 - 96)) < 0.001)
    }

    /// Refresh-ahead comes at its fraction of the answer's own lifetime, so a first answer's
    /// refresh is spread as its expiry is, and the refreshed answer is a later one.
    @Test func refreshAheadFollowsTheFirstAnswersLifetime() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: true, spread: { 0.5 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        #expect(abs(await Self.left(f, "a") - 47.5) < 0.001)
        f.clock.advance(by: .milliseconds(35_000))  // under 75 % of 47.5 s: no refresh
        #expect(try await f.outcome("a").1 == .hit)
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 1)
        f.clock.advance(by: .milliseconds(1_000))  // 36 s: past 75 % of it
        #expect(try await f.outcome("a").1 == .hit)
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 2)
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
    }

    /// A store that lists versions (AWS, SSM) is kept fresh by the freshness rounds: its first
    /// answers live as long as later ones, so none expires before the first round.
    @Test func storesThatListVersionsKeepTheNarrowSpread() async throws {
        let upstream = StoreDouble(capabilities: [.versions, .versionListing])
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: upstream, policy: Self.policy(jitter: 0.1), clock: clock,
            logger: Logger(label: "secretsfs.tests.jitter"), random: { 0.999_999 })
        upstream.set(path("a"), "one")
        _ = try await cache.read(path("a"))
        let left = try #require(await cache.freshLeft(.secret(path("a"), version: nil)))
        #expect(abs(left.seconds - 95) < 0.001)
    }

    @Test func theDefaultIsTenPercent() {
        #expect(CachePolicy().refreshJitter == 0.1)
    }
}
