import Logging

/// A store in front of another store: TTL, one upstream call per key however many readers miss
/// at once, stale-if-error bounded by `maxStale`, refresh-ahead, remembered misses and an LRU
/// bound. Values leave memory zeroed when their last copy goes (see `SecretValue`).
///
/// Composed of parts: the answers held (`EntryTable`), the calls running with their deadline and
/// breaker (`Flights`), and when answers are fetched again (`CachingSecretStore+Lifetimes`,
/// `FreshnessService`); what it shares with the store it composes at TTL 0 is `StoreFront`. This actor
/// decides what a reader is given. At TTL 0 nothing is cached: it hands every call to a
/// `CoalescingSecretStore` (`coalescing`), so the file system keeps one type to ask.
public actor CachingSecretStore: SecretStore, StoreFront {
    typealias Payload = MirroredEntry.Payload

    public nonisolated let descriptor: StoreDescriptor
    public nonisolated let upstream: any SecretStore
    public nonisolated let policy: CachePolicy
    /// The refreshes late reads ask for, which `FreshnessService` starts.
    nonisolated let readAhead = ReadAheadQueue()
    let clock: any TimeSource
    let logger: Logger
    var table: EntryTable
    var flights: Flights
    /// At TTL 0, the store every call goes to instead: it keeps no value.
    nonisolated let coalescing: CoalescingSecretStore?
    var stats = CacheStatistics()
    var changeHandler: (@Sendable (CacheChange) -> Void)?
    /// When answers end and whether they are fetched again by the clock (`+Lifetimes`).
    var lifetimes: Lifetimes

    public init(
        upstream: any SecretStore, policy: CachePolicy, clock: any TimeSource = SystemTimeSource(), logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.upstream = upstream
        self.descriptor = upstream.descriptor
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.table = EntryTable(limit: policy.maxEntries, clock: clock, mirrors: true)
        self.flights = Flights(policy: policy, clock: clock)
        self.coalescing =
            policy.ttl == .zero ? CoalescingSecretStore(upstream: upstream, policy: policy, clock: clock) : nil
        self.lifetimes = Lifetimes(policy: policy, firstPhase: min(max(random(), 0), 1))
    }

    // A refresh-ahead service still running for a cache that is gone has nothing left to do.
    deinit { readAhead.finish() }

    /// Called whenever a cached answer changes (refresh, rotation, write): the file system uses it
    /// to drop what the kernel keeps, and to tell programs (`.events`, `on_change`) why.
    public func onChange(_ handler: @escaping @Sendable (CacheChange) -> Void) async {
        changeHandler = handler
        await coalescing?.onChange(handler)
    }

    public func statistics() async -> CacheStatistics {
        if let coalescing {
            var figures = await coalescing.statistics()
            figures.prefetch = stats.prefetch
            figures.cacheFile = stats.cacheFile
            return figures
        }
        var copy = stats
        copy.entries = table.count
        copy.breakerState = flights.breakerState
        return copy
    }

    // MARK: SecretStore

    public nonisolated func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await readWithOutcome(path, version: version).value
    }

    /// Reads and says whether the answer came from the cache, the store, or was served stale.
    public nonisolated func readWithOutcome(_ path: SecretPath, version: String?) async throws -> CacheAnswer<Secret> {
        if let coalescing { return try await coalescing.readWithOutcome(path, version: version) }
        let key = CacheKey.secret(path, version: version)
        let answer = try await lookup(key)
        guard case .secret(let secret) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(secret, answer.outcome)
    }

    /// At TTL 0 every call reaches the store (`CoalescingSecretStore.list`).
    public nonisolated func list(_ folder: SecretPath) async throws -> Listing {
        if let coalescing { return try await coalescing.list(folder) }
        return try await listing(folder, reuse: true).value
    }

    /// The listing a lookup of `name` in `folder` decides by: the one held. At TTL 0 the lookups of one
    /// moment share one listing, but only to find what is there (`CoalescingSecretStore.list(_:lookingUp:)`).
    public nonisolated func list(_ folder: SecretPath, lookingUp name: String) async throws -> Listing {
        if let coalescing { return try await coalescing.list(folder, lookingUp: name) }
        return try await listing(folder, reuse: true).value
    }

    /// Whether `path` is a folder (a prefix of secret paths), by listing it.
    public nonisolated func isFolder(_ path: SecretPath) async throws -> Bool {
        if let coalescing { return try await coalescing.isFolder(path) }
        return try await !listing(path, reuse: true).value.isEmpty
    }

    nonisolated func listing(_ folder: SecretPath, reuse: Bool) async throws -> CacheAnswer<Listing> {
        let answer = try await lookup(.listing(folder), reuse: reuse)
        guard case .listing(let listing) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(listing, answer.outcome)
    }

    public nonisolated func versions(of path: SecretPath) async throws -> [VersionInfo] {
        if let coalescing { return try await coalescing.versions(of: path) }
        let answer = try await lookup(.versions(path))
        guard case .versions(let versions) = answer.value else {
            throw SecretError(.internal, "cache payload mismatch")
        }
        return versions
    }

    /// The backend's health, within the call deadline; while the breaker is open the backend is not
    /// asked, so `.status` answers at once during an outage.
    public func health() async -> HealthReport {
        if let coalescing { return await coalescing.health() }
        return await checkedHealth()
    }

    public func shutdown() async {
        readAhead.finish()
        lifetimes.removeAll()
        table.removeAll()
        // The store composed at TTL 0 shuts the upstream down with itself.
        if let coalescing { await coalescing.shutdown() } else { await upstream.shutdown() }
    }

    // MARK: The cache itself

    /// The answer for `key`: kept, or fetched once however many ask. With `reuse` false nothing kept
    /// is served (a call already running is joined). A miss waits for its call off the actor: the
    /// answer is stored by the call (`settle`), so going back to the actor for it would only cost a hop.
    nonisolated func lookup(_ key: CacheKey, reuse: Bool = true) async throws -> CacheAnswer<Payload> {
        switch try await start(key, reuse: reuse) {
        case .answer(let answer):
            return answer
        case .call(let flight):
            do {
                // Each answer is built after its await: see `CacheAnswer`.
                let payload = try await flight.value
                return CacheAnswer(payload, .miss)
            } catch {
                return try await staleOrFailure(key, error)
            }
        }
    }

    private func start(_ key: CacheKey, reuse: Bool) async throws -> Lookup {
        let fetch = fetcher(key)
        var staleCandidate = false
        if reuse {
            if let payload = try kept(key, fetch) { return .answer(CacheAnswer(payload, .hit)) }
            staleCandidate = servesStale(table[key])
        }
        stats.misses += 1
        let flight = flight(key, fetch: fetch)
        guard staleCandidate else { return .call(flight) }
        do {
            // A call already known to be slow is not waited for again: one grace per call, not per reader.
            if !flights.isSlow(key), let payload = try await firstWithin(policy.staleGrace, flight) {
                return .answer(CacheAnswer(payload, .miss))
            }
            // The backend is slow: the reader gets the last value now; the call goes on and
            // refreshes the entry when it answers.
            flights.markSlow(key)
            if let stale = staleValue(for: key, reason: "backend slow") { return .answer(CacheAnswer(stale, .stale)) }
            let payload = try await flight.value
            return .answer(CacheAnswer(payload, .miss))
        } catch {
            return .answer(try staleOrFailure(key, error))
        }
    }

    /// After a failed call: the last value if the store is unavailable and one may be served, else the failure.
    private func staleOrFailure(_ key: CacheKey, _ error: any Error) throws -> CacheAnswer<Payload> {
        let failure = SecretError.from(error)
        if failure.code == .unavailable || failure.code == .internal,
            let stale = staleValue(for: key, reason: "backend failed")
        {
            return CacheAnswer(stale, .stale)
        }
        throw failure
    }

    /// The answer kept for `key` while it is fresh (a hit), or the miss remembered for it (thrown);
    /// nil when the store must be asked. A hit late in its lifetime queues its refresh by `fetch`.
    func kept(_ key: CacheKey, _ fetch: @escaping @Sendable () async throws -> Payload) throws -> Payload? {
        guard let entry = table.use(key) else { return nil }
        let now = clock.monotonicNow()
        if let missing = entry.missing, entry.isFresh(at: now) {
            stats.hits += 1
            throw missing
        }
        guard let payload = entry.payload, entry.isFresh(at: now) else { return nil }
        stats.hits += 1
        if !refreshesByTheClock,
            now - entry.fetchedAt >= entry.lifetime * policy.refreshAheadFraction
        {
            queueRefresh(key, fetch: fetch)
        }
        return payload
    }

    /// Whether `entry` may be served stale: a value past its lifetime but within `maxStale` of it.
    private func servesStale(_ entry: EntryTable.Entry?) -> Bool {
        guard policy.maxStale > .zero, let entry, entry.payload != nil else { return false }
        return clock.monotonicNow() - entry.fetchedAt < entry.lifetime + policy.maxStale
    }

    /// The call's answer if it comes within `grace`, nil if not. Never waits longer than `grace`:
    /// the call goes on without this reader.
    private func firstWithin(_ grace: Duration, _ flight: Race<Payload>) async throws -> Payload? {
        try await firstOf({ try await flight.value }, orAfter: grace, on: clock) { nil }
    }

    /// The last value for `key` if it is not too old to serve.
    private func staleValue(for key: CacheKey, reason: String) -> Payload? {
        guard let entry = table[key], servesStale(entry), let payload = entry.payload else { return nil }
        stats.staleServes += 1
        if !entry.staleLogged {
            table.update(key) { $0.staleLogged = true }
            logger.warning("serving stale value", metadata: ["path": "\(key.path)", "reason": "\(reason)"])
            changeHandler?(CacheChange(key, cause: .stale, oldVersion: payload.version, newVersion: payload.version))
        }
        return payload
    }

    /// The one upstream call for `key` (`Flights`): joined if one is running, refused while the
    /// breaker is open; its answer is stored here and given to every reader.
    func flight(
        _ key: CacheKey, refreshing: Bool = false,
        fetch: @escaping @Sendable () async throws -> Payload
    ) -> Race<Payload> {
        flights.join(key, stats: &stats, fetch: fetch) { [weak self] race, result in
            await self?.settle(key, race, result, refreshing: refreshing)
        }
    }

    /// The first answer of `race` (the call's or its deadline's) is stored and given to its readers;
    /// a later one changes nothing.
    private func settle(
        _ key: CacheKey, _ race: Race<Payload>, _ result: Result<Payload, SecretError>, refreshing: Bool
    ) {
        // Only this actor finishes a call's race, so it is still open at the end. Stored first, then
        // given: a reader waits for a miss off the actor (`lookup`), and a reader woken before the
        // store could act (or the clock move) before the answer's time was taken.
        guard !race.isFinished else { return }
        defer { race.finish(result.mapError { $0 as any Error }) }
        flights.landed(key)
        // A refresh's answer is due one cycle after the answer it replaces was.
        let slot = refreshing ? table[key].map { $0.fetchedAt + $0.lifetime } : nil
        switch result {
        case .success(let payload):
            flights.breaker.recordSuccess()
            store(
                key, payload, cause: refreshing ? .refresh : .outside, first: isFirstAnswer(key), following: slot,
                used: !refreshing)
        case .failure(let failure):
            record(failure, for: key)
        }
    }

    /// A failed call's traces: the error figures, the breaker, and a miss remembered (announced
    /// when it replaces a value).
    func record(_ failure: SecretError, for key: CacheKey) {
        trace(failure, path: key.path)
        if failure.code != .unavailable { flights.breaker.recordSuccess() }
        guard failure.code == .notFound, policy.negativeTTL > .zero else { return }
        let gone = table[key]?.payload
        // A miss's lifetime is how long it is remembered.
        let miss = EntryTable.Entry(
            payload: nil, missing: failure, fetchedAt: clock.monotonicNow(),
            lifetime: failure.fromReplica ? policy.replicaMissTTL : policy.negativeTTL)
        table.put(key, miss, mirrored: gone != nil)
        if let gone { changeHandler?(CacheChange(key, cause: .deleted, oldVersion: gone.version)) }
        evictIfNeeded()
    }

    /// The one upstream call that answers `key`.
    func fetcher(_ key: CacheKey) -> @Sendable () async throws -> Payload {
        let upstream = self.upstream
        switch key {
        case .secret(let path, let version):
            return { .secret(try await upstream.read(path, version: version)) }
        case .listing(let folder):
            return { [weak self] in
                let answer = try await upstream.listWithCurrent(folder)
                await self?.keepListed(answer.current, in: folder)
                return .listing(answer.listing)
            }
        case .versions(let path):
            return { .versions(try await upstream.versions(of: path)) }
        }
    }

    /// Keeps `payload` as the answer for `key`, and announces it when it replaces a different one.
    func store(
        _ key: CacheKey, _ payload: Payload, cause: ChangeCause, first: Bool = false, following slot: Duration? = nil,
        used: Bool = false
    ) {
        let now = clock.monotonicNow()
        let lifetime = self.lifetime(first: first, following: slot)
        let previous = table[key]
        table.put(key, EntryTable.Entry(payload: payload, missing: nil, fetchedAt: now, lifetime: lifetime, used: used))
        scheduleExpiry(key, at: now + lifetime)
        if let previous, previous.missing != nil || previous.staleLogged || previous.payload != payload {
            changeHandler?(
                CacheChange(
                    key, cause: previous.staleLogged ? .recovered : cause, oldVersion: previous.payload?.version,
                    newVersion: payload.version))
        }
        evictIfNeeded()
    }

    /// The current secrets a listing brought (`SecretStore.listWithCurrent`), kept as if each had
    /// been read: the lookups of a walk (`find`, `ls -l`) then ask the store nothing more. A value
    /// already kept and unchanged keeps its age; one being read is left to that read. Only while
    /// there is room: a walk of a big tree must not push out what readers read (nor make every
    /// listing evict).
    private func keepListed(_ current: [String: Secret], in folder: SecretPath) {
        table.noteKinds(current, in: folder)
        guard table.count + current.count < policy.maxEntries else { return }
        let now = clock.monotonicNow()
        for (name, secret) in current {
            guard let path = try? folder.appending(name) else { continue }
            let key = CacheKey.secret(path, version: nil)
            guard !flights.isRunning(key) else { continue }
            if let entry = table[key], entry.payload == .secret(secret), entry.isFresh(at: now) { continue }
            store(key, .secret(secret), cause: .outside)
        }
    }

    func evictIfNeeded() {
        stats.evictions += table.evictIfNeeded()
    }
}
