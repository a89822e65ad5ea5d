import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

/// The random spread of each answer's lifetime (`CachePolicy.refreshJitter`), on the manual clock:
/// a first answer within [J/2, 1] of the TTL, a later one within [1 - J, 1], never past the TTL.
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

    @Test func aDrawOfOneShortensALaterAnswerByTheWholeJitter() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0.999_999 })
        f.upstream.set(path("a"), "one")
        #expect(try await f.outcome("a") == ("one", .miss))
        // The first answer: 100 s less 95 % of it.
        f.clock.advance(by: .milliseconds(4_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        // The answer that replaces it: 100 s less 10 %.
        #expect(try await f.outcome("a").1 != .hit)
        f.clock.advance(by: .milliseconds(89_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        #expect(try await f.outcome("a").1 != .hit)
    }

    @Test func aDrawOfZeroKeepsTheWholeTTL() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { 0 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        f.clock.advance(by: .milliseconds(99_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        #expect(try await f.outcome("a").1 != .hit)
        #expect(await Self.left(f, "a") == 100)
    }

    @Test func noJitterMeansExactlyTheTTLWhateverTheDraw() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0), refreshAhead: false, spread: { 0.9 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        #expect(await Self.left(f, "a") == 100)
        f.clock.advance(by: .milliseconds(99_900))
        #expect(try await f.outcome("a") == ("one", .hit))
        f.clock.advance(by: .milliseconds(200))
        #expect(try await f.outcome("a").1 != .hit)
        #expect(await Self.left(f, "a") == 100)
    }

    @Test func eachAnswerDrawsItsOwnSpreadWithinTheBounds() async throws {
        // Draws 0, 0.5, 1- for three first answers: 100 s, 52.5 s, just over 5 s.
        let draws = Mutex([0.0, 0.5, 0.999_999])
        let f = CacheFixture(
            policy: Self.policy(jitter: 0.1), refreshAhead: false,
            spread: { draws.withLock { $0.isEmpty ? 0 : $0.removeFirst() } })
        for name in ["a", "b", "c"] {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
        }
        #expect(await Self.left(f, "a") == 100)
        #expect(abs(await Self.left(f, "b") - 52.5) < 0.001)
        #expect(abs(await Self.left(f, "c") - 5) < 0.001)
        f.clock.advance(by: .milliseconds(52_000))
        #expect(try await f.outcome("a").1 == .hit)
        #expect(try await f.outcome("b").1 == .hit)
        #expect(try await f.outcome("c").1 != .hit)
        f.clock.advance(by: .milliseconds(1_000))
        #expect(try await f.outcome("b").1 != .hit)
    }

    /// A deploy reads its names together: their first answers end anywhere in a window as long as a
    /// later answer lives, so their next fetches are spread over a whole cycle at once.
    @Test func firstAnswersSpreadOverTheWholeWindow() async throws {
        let f = CacheFixture(
            policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { Double.random(in: 0..<1) })
        let names = (0..<400).map { "s\($0)" }
        var lifetimes: [Double] = []
        for name in names {
            f.upstream.set(path(name), name)
            #expect(try await f.outcome(name).1 == .miss)
            lifetimes.append(await Self.left(f, name))
        }
        #expect(lifetimes.allSatisfy { $0 >= 5 && $0 <= 100 })
        // Each tenth of the window [5 s, 100 s] holds some (400 draws leave one empty with a
        // chance of 10 × 0.9^400).
        let tenths = Set(lifetimes.map { min(9, Int(($0 - 5) / 9.5)) })
        #expect(tenths.count == 10)
    }

    @Test func laterAnswersStayWithinTheJitter() async throws {
        let f = CacheFixture(
            policy: Self.policy(jitter: 0.1), refreshAhead: false, spread: { Double.random(in: 0..<1) })
        let names = (0..<200).map { "s\($0)" }
        for name in names {
            f.upstream.set(path(name), name)
            _ = try await f.outcome(name)
        }
        f.clock.advance(by: .seconds(101))
        var lifetimes: [Double] = []
        for name in names {
            #expect(try await f.outcome(name).1 == .miss)
            lifetimes.append(await Self.left(f, name))
        }
        #expect(lifetimes.allSatisfy { $0 >= 90 && $0 <= 100 })
        #expect(lifetimes.min()! < 92 && lifetimes.max()! > 98)
    }

    /// Refresh-ahead comes at its fraction of the answer's own lifetime, so a first answer's
    /// refresh is spread as its expiry is, and the refreshed answer is a later one.
    @Test func refreshAheadFollowsTheFirstAnswersLifetime() async throws {
        let f = CacheFixture(policy: Self.policy(jitter: 0.1), refreshAhead: true, spread: { 0.5 })
        f.upstream.set(path("a"), "one")
        _ = try await f.outcome("a")
        #expect(abs(await Self.left(f, "a") - 52.5) < 0.001)
        f.clock.advance(by: .milliseconds(39_000))  // under 75 % of 52.5 s: no refresh
        #expect(try await f.outcome("a").1 == .hit)
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 1)
        f.clock.advance(by: .milliseconds(1_000))  // 40 s: past 75 % of it
        #expect(try await f.outcome("a").1 == .hit)
        await f.cache.waitForBackgroundWork()
        #expect(f.upstream.calls.reads == 2)
        #expect(abs(await Self.left(f, "a") - 95) < 0.001)
    }

    /// A store that lists versions (AWS, SSM) is kept fresh by the freshness rounds: its first
    /// answers keep the later answers' spread, so none expires before the first round.
    @Test func storesThatListVersionsKeepTheNarrowSpread() async throws {
        let upstream = StoreDouble(capabilities: [.versions, .versionListing])
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: upstream, policy: Self.policy(jitter: 0.1), clock: clock,
            logger: Logger(label: "secretsfs.tests.jitter"), random: { 0.999_999 })
        upstream.set(path("a"), "one")
        _ = try await cache.read(path("a"))
        let left = try #require(await cache.freshLeft(.secret(path("a"), version: nil)))
        #expect(abs(left.seconds - 90) < 0.001)
    }

    @Test func theDefaultIsTenPercent() {
        #expect(CachePolicy().refreshJitter == 0.1)
    }
}
