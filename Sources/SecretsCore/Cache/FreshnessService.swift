import Logging
import ServiceLifecycle

/// The one service that keeps the cache's answers fresh. What it does is chosen at wiring from what
/// the store can do (`Strategy`); in every strategy it starts the refresh-ahead a late read asks for
/// (DESIGN §3), and keeps the values a `Watch` names fresh though nobody reads them
/// (`CachingSecretStore.watch`), so a change at the store becomes a change event
/// (`CachingSecretStore.onChange`): `on_change` and `secretsfs exec` subscribe that way instead of
/// polling on their own, and the cache stays each value's one reader. Every wait is one loop
/// (`TimeSource.repeating`) on the injected clock.
public struct FreshnessService: Service {
    /// How answers are fetched again before anyone waits for them.
    public enum Strategy: Sendable, Equatable {
        /// Only when read late in their lifetime (refresh-ahead); watched values (`Watch`) by the clock.
        case readAhead
        /// By the clock: just before its lifetime ends, each answer a reader asked for since it was
        /// fetched (`CachingSecretStore.refreshExpiring`). In the default mode the kernel keeps a value
        /// for its lifetime without asking, so no read comes late in it to start a refresh-ahead: without
        /// this the next fetch of a value in use waits for the first read after the expiry, and a fleet's
        /// fetches bunch at the moments its programs happen to read. An answer nobody asked for since is
        /// left to expire. Prefetched values are read again in bulk each period, so they stay hits.
        case byClock
        /// By a listing of versions each period (`--refresh-interval`; AWS: `ListSecrets`, 100 a
        /// page): cached values whose version is unchanged are marked fresh again without a read, and
        /// only those that changed or went are read again, in bulk. So a change is seen within the
        /// period, at the cost of a listing instead of one read per secret; the cached folder listings
        /// are made anew from the same answer, so a new or deleted secret shows within the period too.
        case byVersionListing

        /// The strategy for a cache: by listing where the store lists its versions, else by the clock.
        public static func of(_ cache: CachingSecretStore) -> Strategy {
            cache.listsVersions ? .byVersionListing : .byClock
        }
    }

    /// Paths whose values the cache keeps fresh whether or not anyone reads them (by the clock, or by a
    /// listing of versions): a new version found is a change event. `paths` is asked again once a
    /// `period`, each wait lengthened by a random part of the refresh jitter so a fleet does not call
    /// at once, so a new secret is seen; only a path whose value is not held fresh is read then.
    public struct Watch: Sendable {
        public var period: Duration
        public var paths: @Sendable () async -> [SecretPath]

        public init(period: Duration, paths: @escaping @Sendable () async -> [SecretPath]) {
            self.period = period
            self.paths = paths
        }
    }

    /// What one round did, for the tests and the debug log.
    public struct Round: Sendable, Equatable {
        public var listed = false
        public var confirmed = 0
        public var fetched = 0
        public var failed = 0

        public init(listed: Bool = false, confirmed: Int = 0, fetched: Int = 0, failed: Int = 0) {
            self.listed = listed
            self.confirmed = confirmed
            self.fetched = fetched
            self.failed = failed
        }
    }

    let cache: CachingSecretStore
    let prefetch: Prefetch
    public let strategy: Strategy
    public let period: Duration
    public var watches: [Watch] = []
    let clock: any TimeSource
    let logger: Logger
    let random: @Sendable () -> Double

    public init(
        cache: CachingSecretStore, prefetch: Prefetch, interval: Duration?, clock: any TimeSource, logger: Logger,
        strategy: Strategy? = nil, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.cache = cache
        self.prefetch = prefetch
        self.strategy = strategy ?? .of(cache)
        self.period = Self.period(interval: interval ?? cache.policy.ttl, policy: cache.policy)
        self.clock = clock
        self.logger = logger
        self.random = random
    }

    /// The time between rounds: the interval, but no longer than the soonest moment refresh-ahead
    /// could fetch an entry (its fraction of the shortest lifetime), so an unchanged value is
    /// confirmed before it would be read again.
    public static func period(interval: Duration, policy: CachePolicy) -> Duration {
        let shortest = policy.ttl * (1 - min(max(policy.refreshJitter, 0), 1))
        return min(interval, shortest * policy.refreshAheadFraction)
    }

    /// Until graceful shutdown (or, with nothing but refresh-ahead to do, until the cache shuts down).
    public func run() async {
        guard cache.policy.ttl > .zero else { return }
        await withDiscardingTaskGroup { group in
            group.addTask { await cache.readAhead.run() }
            switch strategy {
            case .readAhead:
                // Watched values are fetched again at their expiry, which needs the clock.
                if !watches.isEmpty { group.addTask { await byClock() } }
            case .byClock:
                group.addTask { await byClock() }
                if !prefetch.isEmpty { group.addTask { await rounds() } }
            case .byVersionListing:
                group.addTask { await rounds() }
            }
            for watch in watches { group.addTask { await keep(watch) } }
        }
    }

    private func byClock() async {
        await clock.repeating { await cache.refreshExpiring() }
        await cache.expiryServiceStopped()
    }

    private func rounds() async {
        guard period > .zero else { return }
        // Each wait shortened by a random part, so mounts started together do not list in step.
        let spread = min(max(cache.policy.refreshJitter, 0), 1)
        let wait = { period * (1 - spread * min(max(random(), 0), 1)) }
        await clock.repeating(after: wait()) {
            await round()
            return wait()
        }
    }

    private func keep(_ watch: Watch) async {
        let jitter = min(max(cache.policy.refreshJitter, 0), 1)
        let wait = { watch.period + watch.period * (jitter * min(max(random(), 0), 1)) }
        await clock.repeating(after: wait()) {
            await cache.watch(await watch.paths())
            return wait()
        }
    }

    /// One round: list, confirm what is unchanged, read again what changed. A store without such a
    /// listing has its prefetched values read again in bulk instead.
    @discardableResult
    public func round() async -> Round {
        var round = Round()
        let cached = await cache.cachedVersions()
        let listing: VersionListing?
        if cached.isEmpty {
            listing = nil
        } else {
            do {
                listing = try await cache.currentVersions()
            } catch {
                logger.warning(
                    "could not list current versions; values stay as cached",
                    metadata: ["error": "\(SecretError.from(error).message)"])
                return round
            }
        }
        var stale: [SecretPath] = []
        if let listing {
            round.listed = true
            var unchanged: [SecretPath] = []
            for (path, version) in cached {
                if listing.versions[path] == version { unchanged.append(path) } else { stale.append(path) }
            }
            await cache.confirmFresh(unchanged)
            await cache.refreshListings(from: listing.versions.keys)
            round.confirmed = unchanged.count
        } else {
            stale = cached.keys.filter(prefetch.matches)
        }
        if !stale.isEmpty {
            let failures = await cache.fetchMany(stale.sorted())
            round.fetched = stale.count
            round.failed = failures.count
        }
        logger.debug(
            "freshness round",
            metadata: [
                "listed": "\(round.listed)", "confirmed": "\(round.confirmed)", "fetched": "\(round.fetched)",
                "failed": "\(round.failed)",
            ])
        return round
    }
}
