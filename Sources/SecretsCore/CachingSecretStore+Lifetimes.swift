/// How long each answer of the cache lives (`CachePolicy.refreshJitter`), and the refresh by the
/// clock that fetches the answers in use again just before they end (`ExpiryRefreshService`).
extension CachingSecretStore {
    /// A new answer's fresh lifetime (`CachePolicy.refreshJitter` J). Answers of a name in use are
    /// due once a cycle, the TTL less J/2 of it. A `first` answer is due at its own point of that
    /// cycle, between J/2 of the TTL and all of it from now: the points follow the golden-ratio
    /// sequence from a random start, counted on the mount's clock rather than from each fetch, so
    /// the names a deploy reads together are due evenly over the cycle (independent draws, or a
    /// sequence of lifetimes from fetches that each took their time, would bunch some and leave
    /// gaps: mounts started together then peak higher). A refresh's answer (`following` the end of
    /// the answer it replaces) is due one cycle after that end, however long the call took, so a
    /// name keeps its point; where that would pass the TTL (a refresh-ahead early in a lifetime) it
    /// lives one cycle. No answer lives longer than the TTL.
    func lifetime(first: Bool = false, following slot: Duration? = nil) -> Duration {
        guard jitter > 0 else { return policy.ttl }
        let cycle = policy.ttl * (1 - jitter / 2)
        let shortest = policy.ttl - cycle
        let now = clock.monotonicNow()
        if first {
            let point = Self.fraction(firstPhase + Double(firstAnswers) * Self.goldenRatioPart)
            firstAnswers += 1
            // The one moment at `point` of the cycle within [now + shortest, now + TTL).
            return shortest + cycle * Self.fraction(point - (now + shortest) / cycle)
        }
        if let slot {
            let left = slot + cycle - now
            if left >= shortest && left <= policy.ttl { return left }
        }
        return cycle
    }

    private static func fraction(_ x: Double) -> Double { x - x.rounded(.down) }

    /// `CachePolicy.refreshJitter` J, within [0, 1].
    private var jitter: Double { min(max(policy.refreshJitter, 0), 1) }

    /// The fractional part of the golden ratio: steps by it fill [0, 1) most evenly at every count.
    static let goldenRatioPart = 0.618_033_988_749_894_8

    /// Whether an answer now stored for `key` is a first one (see `lifetime(first:)`): for a name
    /// nothing is held for, or held only stale (the store failed: the names that recover together
    /// are spread again), from a store whose values expiry keeps fresh.
    func isFirstAnswer(_ key: CacheKey) -> Bool {
        guard !descriptor.capabilities.contains(.versionListing) else { return false }
        guard let held = entries[key], held.payload != nil else { return true }
        return held.staleLogged
    }

    /// Starts the fetch of every answer that a reader asked for since it was fetched and whose
    /// lifetime is about to end (`ExpiryRefreshService`: refresh-ahead by the clock, see
    /// `refreshLead`), and says how long until the next one is. Never longer than the soonest an
    /// answer stored meanwhile can be, so none is late. Not for stores that list versions: their
    /// freshness rounds keep values fresh for a listing.
    public func refreshExpiring() -> Duration {
        expiryService = true
        let now = clock.monotonicNow()
        while let due = expiries.takeDue(at: now) {
            guard let entry = entries[due.key], entry.payload != nil, entry.used,
                entry.fetchedAt + entry.lifetime - refreshLead == due.at, inflight[due.key] == nil
            else { continue }
            stats.refreshes += 1
            _ = flight(due.key, refreshing: true, fetch: fetcher(due.key))
        }
        let soonest = max(policy.ttl * (jitter > 0 ? jitter / 2 : 1) - refreshLead, .milliseconds(10))
        guard let next = expiries.next else { return soonest }
        return min(max(next.at - now, .milliseconds(1)), soonest)
    }

    /// The service has stopped: reads late in a lifetime queue their refresh-ahead again.
    public func expiryServiceStopped() { expiryService = false }

    /// How long before an answer's end `refreshExpiring` fetches it again: J/4 of the TTL, half the
    /// shortest lifetime, so a reader of a value in use finds it fresh (DESIGN §3: hot secrets never
    /// wait on the backend) while the answer that comes, due one cycle after the last one was, lives
    /// no longer than the TTL. Zero without a spread.
    var refreshLead: Duration { policy.ttl * (jitter / 4) }

    /// Whether refresh-ahead is left to `refreshExpiring`: its service runs, and the store's values
    /// are kept fresh by expiry.
    var refreshesByTheClock: Bool {
        expiryService && !descriptor.capabilities.contains(.versionListing)
    }

    func scheduleExpiry(_ key: CacheKey, at end: Duration) {
        guard policy.ttl > .zero, !descriptor.capabilities.contains(.versionListing) else { return }
        expiries.insert(key, at: end - refreshLead)
    }
}
