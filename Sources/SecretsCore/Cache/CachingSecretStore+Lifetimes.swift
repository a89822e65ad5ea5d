/// How long each answer lives (`CachePolicy.refreshJitter`) and when it is fetched again: by a late
/// read (refresh-ahead) or by the clock just before it ends (`refreshExpiring`). The strategy that
/// drives these is `FreshnessService`'s.
struct Lifetimes {
    let ttl: Duration
    /// `CachePolicy.refreshJitter` J, within [0, 1].
    let jitter: Double
    /// Where in the cycle the first answers' lifetimes start (`lifetime(first:)`), drawn once from
    /// the injected random source so tests can pin it.
    let firstPhase: Double
    /// How many first answers have been given a lifetime: the index into their sequence.
    private var firstAnswers = 0
    /// When each answer's lifetime ends, less `refreshLead`, for `refreshExpiring`.
    var expiries = ExpirySchedule()
    /// Whether the freshness service fetches answers by the clock: then it, not a late read, starts
    /// refresh-ahead.
    var byTheClock = false
    /// Keys handed to `readAhead` and not started yet: each is queued once.
    var queued: Set<CacheKey> = []
    /// Answers fetched again at their expiry whether or not a reader asked for them: the values an
    /// `on_change` action or `secretsfs exec` watches (`CachingSecretStore.watch`).
    var watched: Set<CacheKey> = []

    /// The fractional part of the golden ratio: steps by it fill [0, 1) most evenly at every count.
    static let goldenRatioPart = 0.618_033_988_749_894_8

    init(policy: CachePolicy, firstPhase: Double) {
        ttl = policy.ttl
        jitter = min(max(policy.refreshJitter, 0), 1)
        self.firstPhase = firstPhase
    }

    /// A new answer's fresh lifetime. Answers of a name in use are due once a cycle, the TTL less J/2
    /// of it. A `first` answer is due at its own point of that cycle, between J/2 of the TTL and all
    /// of it from now: the points follow the golden-ratio sequence from a random start, counted on
    /// the mount's clock rather than from each fetch, so the names a deploy reads together are due
    /// evenly over the cycle (independent draws, or a sequence of lifetimes from fetches that each
    /// took their time, would bunch some and leave gaps: mounts started together then peak higher).
    /// A refresh's answer (`following` the end of the answer it replaces) is due one cycle after
    /// that end, however long the call took, so a name keeps its point; where that would pass the
    /// TTL (a refresh-ahead early in a lifetime) it lives one cycle. No answer lives longer than the TTL.
    mutating func lifetime(first: Bool, following slot: Duration?, now: Duration) -> Duration {
        guard jitter > 0 else { return ttl }
        let cycle = ttl * (1 - jitter / 2)
        let shortest = ttl - cycle
        if first {
            let point = Self.fraction(firstPhase + Double(firstAnswers) * Self.goldenRatioPart)
            firstAnswers += 1
            // The one moment at `point` of the cycle within [now + shortest, now + TTL).
            return shortest + cycle * Self.fraction(point - (now + shortest) / cycle)
        }
        if let slot {
            let left = slot + cycle - now
            if left >= shortest && left <= ttl { return left }
        }
        return cycle
    }

    private static func fraction(_ x: Double) -> Double { x - x.rounded(.down) }

    /// How long before an answer's end `refreshExpiring` fetches it again: J/4 of the TTL, half the
    /// shortest lifetime, so a reader of a value in use finds it fresh (DESIGN §3: hot secrets never
    /// wait on the backend) while the answer that comes, due one cycle after the last one was, lives
    /// no longer than the TTL. Zero without a spread.
    var refreshLead: Duration { ttl * (jitter / 4) }

    /// The longest `refreshExpiring` may wait: the soonest an answer stored meanwhile can be due.
    var longestWait: Duration { max(ttl * (jitter > 0 ? jitter / 2 : 1) - refreshLead, .milliseconds(10)) }

    mutating func removeAll() {
        queued.removeAll()
        watched.removeAll()
        expiries.removeAll()
    }
}

extension CachingSecretStore {
    func lifetime(first: Bool = false, following slot: Duration? = nil) -> Duration {
        lifetimes.lifetime(first: first, following: slot, now: clock.monotonicNow())
    }

    /// Whether an answer now stored for `key` is a first one (see `Lifetimes.lifetime`): for a name
    /// nothing is held for, or held only stale (the store failed: the names that recover together
    /// are spread again), from a store whose values expiry keeps fresh.
    func isFirstAnswer(_ key: CacheKey) -> Bool {
        guard !listsVersions else { return false }
        guard let held = table[key], held.payload != nil else { return true }
        return held.staleLogged
    }

    /// Whether the store lists its current versions: then freshness rounds, not expiry, decide
    /// when a value is read again.
    nonisolated var listsVersions: Bool { descriptor.capabilities.contains(.versionListing) }

    /// Starts the fetch of every answer that a reader asked for since it was fetched, or that is
    /// watched, and whose
    /// lifetime is about to end (refresh-ahead by the clock, see `Lifetimes.refreshLead`), and says
    /// how long until the next one is. Never longer than the soonest an answer stored meanwhile can
    /// be, so none is late. Not for stores that list versions: their freshness rounds keep values
    /// fresh for a listing.
    public func refreshExpiring() -> Duration {
        lifetimes.byTheClock = true
        let now = clock.monotonicNow()
        while let due = lifetimes.expiries.takeDue(at: now) {
            guard let entry = table[due.key], entry.payload != nil,
                entry.used || lifetimes.watched.contains(due.key),
                entry.fetchedAt + entry.lifetime - lifetimes.refreshLead == due.at, !flights.isRunning(due.key)
            else { continue }
            stats.refreshes += 1
            _ = flight(due.key, refreshing: true, fetch: fetcher(due.key))
        }
        guard let next = lifetimes.expiries.next else { return lifetimes.longestWait }
        return min(max(next.at - now, .milliseconds(1)), lifetimes.longestWait)
    }

    /// The service has stopped: reads late in a lifetime queue their refresh-ahead again.
    public func expiryServiceStopped() { lifetimes.byTheClock = false }

    /// Whether refresh-ahead is left to `refreshExpiring`: its service runs, and the store's values
    /// are kept fresh by expiry.
    var refreshesByTheClock: Bool { lifetimes.byTheClock && !listsVersions }

    func scheduleExpiry(_ key: CacheKey, at end: Duration) {
        guard !listsVersions else { return }
        lifetimes.expiries.insert(key, at: end - lifetimes.refreshLead)
    }

    /// Refresh-ahead on a late read: the key's call is started by `readAhead`, once.
    func queueRefresh(_ key: CacheKey, fetch: @escaping @Sendable () async throws -> Payload) {
        guard !flights.isRunning(key), lifetimes.queued.insert(key).inserted else { return }
        readAhead.submit { [weak self] in await self?.startRefresh(key, fetch: fetch) }
    }

    /// The queued refresh of `key`, unless a reader's call got there first or the entry went.
    private func startRefresh(_ key: CacheKey, fetch: @escaping @Sendable () async throws -> Payload) {
        guard lifetimes.queued.remove(key) != nil, !flights.isRunning(key), let entry = table[key],
            entry.payload != nil,
            clock.monotonicNow() - entry.fetchedAt >= entry.lifetime * policy.refreshAheadFraction
        else { return }
        stats.refreshes += 1
        _ = flight(key, refreshing: true, fetch: fetch)
    }
}

extension CachingSecretStore {
    /// Keeps the current values of `paths` fresh whether or not anyone reads them, in place of the
    /// paths watched before: an `on_change` action or `secretsfs exec` watches them, and hears of a
    /// change from `onChange` when the cache fetches them again. The cache stays their one reader:
    /// a value held fresh is only marked (the freshness service fetches it again at its expiry, or
    /// confirms it from a listing of versions); one not held, or no longer fresh, is read now through
    /// the cache, as any reader would. A path naming a field (`db/password`) watches the secret above
    /// it.
    public func watch(_ paths: [SecretPath]) async {
        var keys = Set<CacheKey>()
        for path in paths {
            if Task.isCancelled { break }
            if case let (key, fresh)? = held(path) ?? path.parent.flatMap({ held($0, holdingField: path.name) }) {
                keys.insert(key)
                if !fresh { _ = try? await read(key.path, version: nil) }
                continue
            }
            do {
                _ = try await read(path, version: nil)
                keys.insert(.secret(path, version: nil))
            } catch let error as SecretError where error.code == .notFound {
                guard let parent = path.parent, !parent.isRoot else { continue }
                if (try? await read(parent, version: nil)) != nil { keys.insert(.secret(parent, version: nil)) }
            } catch {
                // The cache logs and counts the failure; the next round tries again.
                keys.insert(.secret(path, version: nil))
            }
        }
        lifetimes.watched = keys
    }

    /// The key of `path`'s current value when one is held (with `field`, one that holds that field),
    /// and whether it is fresh.
    private func held(_ path: SecretPath, holdingField field: String? = nil) -> (CacheKey, Bool)? {
        let key = CacheKey.secret(path, version: nil)
        guard let entry = table[key], case .secret(let secret)? = entry.payload else { return nil }
        if let field {
            guard case .fields(let fields) = secret.content, fields[field] != nil else { return nil }
        }
        return (key, entry.isFresh(at: clock.monotonicNow()))
    }
}
