import Logging
import Synchronization

@testable import SecretsCore

/// A cache over a fresh double, on a clock that moves only when a test moves it.
struct CacheFixture {
    let upstream = StoreDouble()
    let clock = ManualTimeSource()
    let cache: CachingSecretStore

    /// Every answer lives exactly the TTL (no `refreshJitter`): the tests of the spread set their own.
    static let policy = CachePolicy(
        ttl: .seconds(100), maxStale: .seconds(1000), negativeTTL: .seconds(10), maxEntries: 100, refreshJitter: 0)

    /// `refreshAhead`: whether the cache's refresh-ahead runs (the freshness service with nothing
    /// else to do), as the mount runs it.
    /// `spread`: the cache's random draw, where in the cycle first answers' lifetimes start.
    init(
        policy: CachePolicy = CacheFixture.policy, refreshAhead: Bool = true,
        spread: @escaping @Sendable () -> Double = { 0 }
    ) {
        cache = CachingSecretStore(
            upstream: upstream, policy: policy, clock: clock, logger: Logger(label: "secretsfs.tests.cache"),
            random: spread)
        if refreshAhead {
            let service = freshness(.readAhead)
            Task { await service.run() }
        }
    }

    /// The freshness service of this cache with `strategy` (refresh-ahead runs in every strategy: a
    /// fixture that runs one must not also run its own `refreshAhead`).
    func freshness(_ strategy: FreshnessService.Strategy) -> FreshnessService {
        FreshnessService(
            cache: cache, prefetch: Prefetch(patterns: []), interval: nil, clock: clock,
            logger: Logger(label: "secretsfs.tests.freshness"), strategy: strategy)
    }

    func read(_ string: String) async throws -> String? {
        text(of: try await cache.read(path(string)))
    }

    func outcome(_ string: String) async throws -> (String?, CacheOutcome) {
        let answer = try await cache.readWithOutcome(path(string), version: nil)
        let (secret, outcome) = (answer.value, answer.outcome)
        return (text(of: secret), outcome)
    }

    /// The code of the SecretError a read throws, or nil when it succeeds.
    func failure(_ string: String) async -> SecretError.Code? {
        do {
            _ = try await cache.read(path(string))
            return nil
        } catch let error as SecretError {
            return error.code
        } catch {
            return .internal
        }
    }
}

/// Collects what `onChange` reports.
final class ChangeLog: Sendable {
    private let changes = Mutex<[CacheChange]>([])
    var all: [CacheKey] { changes.withLock { $0.map(\.key) } }
    /// The changes of current values, as `.events` shows them.
    var ofValues: [CacheChange] {
        changes.withLock { $0.filter { if case .secret(_, version: nil) = $0.key { true } else { false } } }
    }
    func record(_ change: CacheChange) { changes.withLock { $0.append(change) } }
}

/// What the tests look at inside the cache; the production actor has no hooks for them.
extension CachingSecretStore {
    /// The cached current value of `path`, fresh or not, without asking the store or counting.
    func peek(_ path: SecretPath) -> Secret? {
        if case .secret(let secret)? = table[.secret(path, version: nil)]?.payload { return secret }
        return nil
    }

    /// Whether no call runs and no refresh is queued, and `sleepers` tasks wait on `clock`, seen at one
    /// moment on the actor. Calls start and land only here, and a call's deadline timer is gone before
    /// it lands, so then the sleepers are the service's loops. Read one after the other, the count
    /// could be a loop and a call's timer, and the cache idle a moment later with a loop still
    /// awake: the clock then moved before that loop slept, and its rounds came late from then on.
    func isIdle(with sleepers: Int, on clock: ManualTimeSource) -> Bool {
        flights.running.isEmpty && lifetimes.queued.isEmpty && clock.sleeperCount == sleepers
    }

    /// Waits until the refreshes queued so far have started and every running call has answered;
    /// tests use it instead of sleeping. Needs the freshness service running while anything is queued.
    func waitForBackgroundWork() async {
        while true {
            if let flight = flights.running.values.first {
                // The call takes itself out of `running` as its answer is given.
                _ = try? await flight.value
            } else if lifetimes.queued.isEmpty {
                return
            } else {
                await Task.yield()
            }
        }
    }
}
