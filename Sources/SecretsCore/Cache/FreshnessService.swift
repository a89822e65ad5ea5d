import Logging
import ServiceLifecycle

/// Keeps cached values fresh with few backend calls (`--refresh-interval`). Each period it asks the
/// store for every secret's current version (AWS: `ListSecrets`, 100 a page): cached values whose
/// version is unchanged are marked fresh again without a read, and only those that changed or went
/// are read again, in bulk. So a change is seen within the period, at the cost of a listing instead
/// of one read per secret; the cached folder listings are made anew from the same answer, so a new or
/// deleted secret shows within the period too. A store without such a listing has its prefetched values read again in
/// bulk instead (so they stay hits); its other values keep the cache's refresh-ahead.
public struct FreshnessService: Service {
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
    public let period: Duration
    let clock: any TimeSource
    let logger: Logger
    let random: @Sendable () -> Double

    public init(
        cache: CachingSecretStore, prefetch: Prefetch, interval: Duration?, clock: any TimeSource, logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.cache = cache
        self.prefetch = prefetch
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

    public func run() async {
        guard period > .zero, cache.policy.ttl > .zero else { return }
        let spread = min(max(cache.policy.refreshJitter, 0), 1)
        while !Task.isShuttingDownGracefully {
            // Each wait shortened by a random part, so mounts started together do not list in step.
            let wait = period * (1 - spread * min(max(random(), 0), 1))
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            await round()
        }
    }

    /// One round: list, confirm what is unchanged, read again what changed.
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
