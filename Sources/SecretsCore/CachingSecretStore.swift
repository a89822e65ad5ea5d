import Logging
import Synchronization

import struct Foundation.Date

/// A store in front of another store: TTL, one upstream call per key however many readers miss
/// at once, stale-if-error bounded by `maxStale`, refresh-ahead, remembered misses and an LRU
/// bound. Values leave memory zeroed when their last copy goes (see `SecretValue`).
public actor CachingSecretStore: SecretStore {
    enum Payload: Sendable {
        case secret(Secret)
        case listing(Listing)
        case versions([VersionInfo])
    }

    struct Entry {
        var payload: Payload?
        var missing: SecretError?
        var fetchedAt: Duration
        /// How long it is fresh: the TTL less its random spread (`CachePolicy.refreshJitter`,
        /// `lifetime(first:)`).
        var lifetime: Duration
        var lastUsed: UInt64
        var staleLogged = false
        /// A reader asked for it since it was fetched: its expiry fetches it again (`refreshExpiring`).
        var used = false
    }

    public nonisolated let descriptor: StoreDescriptor
    public nonisolated let upstream: any SecretStore
    public nonisolated let policy: CachePolicy
    /// Starts the refreshes this cache asks for; the process runs it in its `ServiceGroup`.
    public nonisolated let refreshAhead = RefreshAheadService()
    let clock: any TimeSource
    let logger: Logger
    /// Where in the cycle the first answers' lifetimes start (`lifetime(first:)`), drawn once from
    /// the injected random source so tests can pin it.
    let firstPhase: Double
    /// How many first answers have been given a lifetime: the index into their sequence.
    var firstAnswers = 0
    /// When each answer's lifetime ends, for `refreshExpiring`.
    var expiries = ExpirySchedule()
    /// Whether `ExpiryRefreshService` runs: then it, not a late read, starts refresh-ahead.
    var expiryService = false

    var entries: [CacheKey: Entry] = [:]
    /// The running upstream call of each key, which its readers wait on (`flight`).
    var inflight: [CacheKey: Race<Payload>] = [:]
    /// Keys whose running call has outlasted the stale grace once: their readers get the stale value at once.
    private var slowFlights: Set<CacheKey> = []
    /// Keys handed to `refreshAhead` and not started yet: each is queued once.
    private var queuedRefreshes: Set<CacheKey> = []
    private var tick: UInt64 = 0
    var stats = CacheStatistics()
    private var changeHandler: (@Sendable (CacheChange) -> Void)?
    var breaker: CircuitBreaker
    private var mirror: (any CacheMirror)?
    /// Whether each secret a listing brought is a multi-field one (a folder) or a value, kept apart
    /// from the values: a name of a big walk whose value did not fit still lists with its type, so
    /// `find -type f` need not look it up. Bounded by `maxEntries`, dropped whole when full.
    private var kinds: [SecretPath: Bool] = [:]
    /// Records in the mirror that a later one superseded: their bytes (values among them) stay in
    /// the mirror's memory until it is rewritten, so it is rewritten once they outnumber the live.
    private var mirrorSuperseded = 0
    /// At TTL 0, the folders seen for the last `negativeTTL` (see `lookupHint`); empty otherwise.
    private var folders: FolderMemory

    public init(
        upstream: any SecretStore, policy: CachePolicy, clock: any TimeSource = SystemTimeSource(), logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.firstPhase = min(max(random(), 0), 1)
        self.upstream = upstream
        self.descriptor = upstream.descriptor
        self.policy = policy
        self.clock = clock
        self.logger = logger
        self.breaker = CircuitBreaker(
            threshold: policy.breakerThreshold, cooldown: policy.breakerCooldown, firstProbe: policy.breakerFirstProbe)
        self.folders = FolderMemory(
            lifetime: policy.ttl == .zero ? policy.negativeTTL : .zero, limit: policy.maxEntries)
    }

    // A refresh-ahead service still running for a cache that is gone has nothing left to do.
    deinit { refreshAhead.finish() }

    /// Called whenever a cached answer changes (refresh, rotation, write): the file system uses it
    /// to drop what the kernel keeps, and to tell programs (`.events`, `on_change`) why.
    public func onChange(_ handler: @escaping @Sendable (CacheChange) -> Void) {
        changeHandler = handler
    }

    /// Copies every answer stored from now on to `mirror`, for a worker that may replace this one.
    public func mirror(to mirror: any CacheMirror) {
        self.mirror = mirror
        mirrorSuperseded = 0
        mirror.replaceAll(policy.ttl > .zero ? liveEntries() : [])
    }

    /// Takes over the answers a previous worker had, aged by the time since they were fetched.
    /// Entries too old to be served even stale are left out. Returns how many were taken.
    @discardableResult
    public func restore(_ restored: [(CacheKey, MirroredEntry)]) -> Int {
        guard policy.ttl > .zero else { return 0 }
        var taken = 0
        let now = clock.monotonicNow()
        let wallNow = clock.wallNow()
        for (key, entry) in restored {
            let age = Duration.seconds(max(0, wallNow.timeIntervalSince(entry.fetchedAt)))
            guard age < policy.ttl + policy.maxStale else { continue }
            let fetchedAt = now - age
            let lifetime = lifetime()
            entries[key] = Entry(
                payload: Payload(entry.payload), missing: nil, fetchedAt: fetchedAt, lifetime: lifetime,
                lastUsed: nextTick())
            scheduleExpiry(key, at: fetchedAt + lifetime)
            taken += 1
        }
        evictIfNeeded()
        return taken
    }

    private func liveEntries() -> [(CacheKey, MirroredEntry)] {
        let now = clock.monotonicNow()
        let wallNow = clock.wallNow()
        return entries.compactMap { key, entry -> (CacheKey, MirroredEntry)? in
            guard let payload = entry.payload else { return nil }
            let fetchedAt = wallNow.addingTimeInterval(-(now - entry.fetchedAt).seconds)
            return (key, MirroredEntry(payload: payload.mirrored, fetchedAt: fetchedAt))
        }
    }

    private func mirrorRecord(_ key: CacheKey, _ entry: Entry?) {
        // At TTL 0 nothing outlives the moment a replacing worker would need to take it over.
        guard let mirror, policy.ttl > .zero else { return }
        let mirrored = entry.flatMap { entry in
            entry.payload.map { MirroredEntry(payload: $0.mirrored, fetchedAt: clock.wallNow()) }
        }
        mirrorSuperseded += 1
        if !mirror.record(key, mirrored) || mirrorSuperseded > max(Self.mirrorSlack, entries.count) {
            mirror.replaceAll(liveEntries())
            mirrorSuperseded = 0
        }
    }

    /// Superseded records a mirror may hold beyond the live ones before it is rewritten.
    static let mirrorSlack = 64

    public func statistics() -> CacheStatistics {
        var copy = stats
        copy.entries = entries.count
        copy.breakerState = breaker.state(at: clock.monotonicNow())
        return copy
    }

    /// The cached current value of `path`, fresh or not, without asking the store or counting.
    public func peek(_ path: SecretPath) -> Secret? {
        if case .secret(let secret)? = entries[.secret(path, version: nil)]?.payload { return secret }
        return nil
    }

    /// For each path: whether its current value is a multi-field secret (a folder), from a cached
    /// value or the last listing that brought it; nil when neither knows. Asks the store nothing.
    public func peekFolders(_ paths: [SecretPath]) -> [Bool?] {
        paths.map { path in
            if case .secret(let secret)? = entries[.secret(path, version: nil)]?.payload {
                if case .fields = secret.content { return true }
                return false
            }
            return kinds[path]
        }
    }

    /// How much longer the cached answer for `key` stays fresh (its lifetime is the TTL less its
    /// random spread); nil when nothing fresh is cached.
    public func freshLeft(_ key: CacheKey) -> Duration? {
        guard policy.ttl > .zero, let entry = entries[key], entry.payload != nil else { return nil }
        let left = entry.lifetime - (clock.monotonicNow() - entry.fetchedAt)
        return left > .zero ? left : nil
    }

    /// How old the cached answer for `key` is, and whether it is past its TTL (being served
    /// stale, or about to be refreshed); nil when nothing is cached.
    public func freshness(of key: CacheKey) -> (age: Duration, expired: Bool)? {
        guard let entry = entries[key], entry.payload != nil else { return nil }
        let age = clock.monotonicNow() - entry.fetchedAt
        return (age, age >= entry.lifetime)
    }

    /// Waits until the refreshes queued so far have started and every running call has answered;
    /// tests use it instead of sleeping. Needs `refreshAhead` running while anything is queued.
    public func waitForBackgroundWork() async {
        while true {
            if let flight = inflight.values.first {
                // The call takes itself out of `inflight` as its answer is given.
                _ = try? await flight.value
            } else if queuedRefreshes.isEmpty {
                return
            } else {
                await Task.yield()
            }
        }
    }

    // MARK: SecretStore

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await readWithOutcome(path, version: version).value
    }

    /// Reads and says whether the answer came from the cache, the store, or was served stale.
    public func readWithOutcome(_ path: SecretPath, version: String?) async throws -> CacheAnswer<Secret> {
        let key = CacheKey.secret(path, version: version)
        let answer = try await lookup(key, fetch: fetcher(key))
        guard case .secret(let secret) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(secret, answer.outcome)
    }

    /// What `readWithOutcome(path, version: nil)` answers when a fresh value is kept (a hit, counted
    /// and refreshed ahead as any); nil, asking the store nothing, when it would have to ask it.
    /// For answers that are worth giving only when they cost no backend call (READDIRPLUS).
    public func readKept(_ path: SecretPath) throws -> CacheAnswer<Secret>? {
        let key = CacheKey.secret(path, version: nil)
        guard case .secret(let secret)? = try kept(key, fetcher(key))
        else { return nil }
        return CacheAnswer(secret, .hit)
    }

    /// What `list(folder)` answers when a fresh listing is kept (a hit); nil, asking the store
    /// nothing, when it would have to ask it.
    public func listKept(_ folder: SecretPath) throws -> Listing? {
        guard case .listing(let listing)? = try kept(.listing(folder), listingFetch(folder)) else { return nil }
        return listing
    }

    /// At TTL 0 every call reaches the store (and its answer is kept for the lookups of the next
    /// moment, see `list(_:lookingUp:)`).
    public func list(_ folder: SecretPath) async throws -> Listing {
        try await listing(folder, reuse: policy.ttl > .zero).value
    }

    /// The listing a lookup of `name` in `folder` decides by. At TTL 0 the lookups of one moment share
    /// one listing (`CachePolicy.coalescingWindow`), but only to find what is there: one that does not
    /// show `name` is fetched again, so a name made since is seen by the very next lookup.
    public func list(_ folder: SecretPath, lookingUp name: String) async throws -> Listing {
        let answer = try await listing(folder, reuse: true)
        let listing = answer.value
        guard policy.ttl == .zero, answer.outcome == .hit, !listing.secrets.contains(name),
            !listing.folders.contains(name)
        else { return listing }
        return try await self.listing(folder, reuse: false).value
    }

    /// What a lookup of `path` may go by at TTL 0 without asking the store (DESIGN §1.1): the
    /// lookups along a path must not each cost a listing. Always `.unknown` when values are cached.
    public func lookupHint(_ path: SecretPath) -> LookupHint {
        guard policy.ttl == .zero, let parent = path.parent else { return .unknown }
        let listing = CacheKey.listing(parent)
        if inflight[listing] != nil { return .parentListed }
        if let entry = entries[listing], entry.payload != nil, clock.monotonicNow() - entry.fetchedAt < entry.lifetime {
            return .parentListed
        }
        if folders.knows(path, at: clock.monotonicNow()) {
            stats.hits += 1
            return .folder
        }
        return .unknown
    }

    /// Whether `path` is a folder (a prefix of secret paths), by listing it: at TTL 0 that listing then
    /// answers the lookups inside it for a moment, as `list(_:lookingUp:)` does.
    public func isFolder(_ path: SecretPath) async throws -> Bool {
        try await !listing(path, reuse: true).value.isEmpty
    }

    private func listing(_ folder: SecretPath, reuse: Bool) async throws -> CacheAnswer<Listing> {
        let answer = try await lookup(.listing(folder), reuse: reuse, fetch: listingFetch(folder))
        guard case .listing(let listing) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(listing, answer.outcome)
    }

    /// The one upstream call for a listing of `folder`.
    private func listingFetch(_ folder: SecretPath) -> @Sendable () async throws -> Payload {
        let upstream = self.upstream
        // At TTL 0 no value is kept, so the current secrets a listing may bring are not asked for.
        let keepsValues = policy.ttl > .zero
        return { [weak self] in
            guard keepsValues else { return .listing(try await upstream.list(folder)) }
            let answer = try await upstream.listWithCurrent(folder)
            await self?.keepListed(answer.current, in: folder)
            return .listing(answer.listing)
        }
    }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        let answer = try await lookup(.versions(path), fetch: fetcher(.versions(path)))
        guard case .versions(let versions) = answer.value else {
            throw SecretError(.internal, "cache payload mismatch")
        }
        return versions
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        let info = try await callUpstream(path) { try await $0.write(path, content: content) }
        invalidate(path, newVersion: info.id)
        return info
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let result = try await callUpstream(request.path) { try await $0.rotate(request) }
        invalidate(
            request.path, field: result.field, oldVersion: result.oldVersion, newVersion: result.newVersion)
        // Replace the entry now, so the next reader sees the new value without a miss.
        _ = try? await read(request.path, version: nil)
        return result
    }

    /// The backend's health, within the call deadline; while the breaker is open the backend is not
    /// asked, so `.status` answers at once during an outage.
    public func health() async -> HealthReport {
        if breaker.state(at: clock.monotonicNow()) == .open {
            return HealthReport(healthy: false, detail: "backend circuit open after repeated failures")
        }
        let upstream = self.upstream
        let timeout = policy.backendTimeout
        do {
            return try await firstOf(call: { await upstream.health() }, orAfter: timeout, on: clock) {
                HealthReport(healthy: false, detail: "no answer to the health check within \(timeout.seconds)s")
            }
        } catch {
            return HealthReport(healthy: false, detail: "health check cancelled")
        }
    }

    public func shutdown() async {
        refreshAhead.finish()
        queuedRefreshes.removeAll()
        expiries.removeAll()
        entries.removeAll()
        kinds.removeAll()
        folders.forget(.root)

        await upstream.shutdown()
    }

    /// Forgets everything about `path`: its value, versions, and the listings above it, after a
    /// rotation or write through this cache made `newVersion`.
    public func invalidate(
        _ path: SecretPath, field: String? = nil, oldVersion: String? = nil, newVersion: String? = nil
    ) {
        let current = CacheKey.secret(path, version: nil)
        let previous = Self.version(of: entries[current]?.payload)
        var dropped: [CacheKey] = []
        for key in entries.keys {
            switch key {
            case .secret(let p, _) where p == path, .versions(let p) where p == path:
                dropped.append(key)
            case .listing(let folder) where path.hasPrefix(folder) && folder != path:
                dropped.append(key)
            default:
                break
            }
        }
        for key in dropped {
            entries[key] = nil
            mirrorRecord(key, nil)
        }
        kinds[path] = nil
        // The value's key is always announced, even when it was not cached: the kernel may hold it.
        dropped.removeAll { $0 == current }
        for key in dropped { changeHandler?(CacheChange(key, cause: .rotation)) }
        changeHandler?(
            CacheChange(
                current, cause: .rotation, field: field, oldVersion: oldVersion ?? previous, newVersion: newVersion))
    }

    // MARK: The cache itself

    /// The answer for `key`: kept, or fetched once however many ask. With `reuse` false nothing kept
    /// is served (a call already running is joined).
    private func lookup(
        _ key: CacheKey, reuse: Bool = true,
        fetch: @escaping @Sendable () async throws -> Payload
    ) async throws -> CacheAnswer<Payload> {
        let now = clock.monotonicNow()
        var staleCandidate = false
        if reuse {
            if let payload = try kept(key, fetch) { return CacheAnswer(payload, .hit) }
            if let entry = entries[key], entry.payload != nil {
                // At TTL 0 only the listings of the coalescing window are kept: nothing to serve stale.
                staleCandidate =
                    policy.ttl > .zero && policy.maxStale > .zero
                    && now - entry.fetchedAt < entry.lifetime + policy.maxStale
            }
        }
        stats.misses += 1
        let flight = flight(key, fetch: fetch)
        do {
            // Each answer is built after its await: see `CacheAnswer`.
            guard staleCandidate else {
                let payload = try await flight.value
                return CacheAnswer(payload, .miss)
            }
            // A call already known to be slow is not waited for again: one grace per call, not per reader.
            if !slowFlights.contains(key), let payload = try await firstWithin(policy.staleGrace, flight) {
                return CacheAnswer(payload, .miss)
            }
            // The backend is slow: the reader gets the last value now; the call goes on and
            // refreshes the entry when it answers.
            if inflight[key] != nil { slowFlights.insert(key) }
            if let stale = staleValue(for: key, reason: "backend slow") { return CacheAnswer(stale, .stale) }
            let payload = try await flight.value
            return CacheAnswer(payload, .miss)
        } catch {
            let failure = SecretError.from(error)
            if failure.code == .unavailable || failure.code == .internal,
                let stale = staleValue(for: key, reason: "backend failed")
            {
                return CacheAnswer(stale, .stale)
            }
            throw failure
        }
    }

    /// The answer kept for `key` while it is fresh (a hit), or the miss remembered for it (thrown);
    /// nil when the store must be asked. A hit late in its lifetime queues its refresh by `fetch`.
    private func kept(
        _ key: CacheKey, _ fetch: @escaping @Sendable () async throws -> Payload
    ) throws -> Payload? {
        guard var entry = entries[key] else { return nil }
        tick += 1
        entry.lastUsed = tick
        entry.used = true
        entries[key] = entry
        let age = clock.monotonicNow() - entry.fetchedAt
        if let missing = entry.missing, age < entry.lifetime {
            stats.hits += 1
            throw missing
        }
        guard let payload = entry.payload, age < entry.lifetime else { return nil }
        stats.hits += 1
        if policy.ttl > .zero, !refreshesByTheClock, age >= entry.lifetime * policy.refreshAheadFraction {
            queueRefresh(key, fetch: fetch)
        }
        return payload
    }

    /// The call's answer if it comes within `grace`, nil if not. Never waits longer than `grace`:
    /// the call goes on without this reader.
    private func firstWithin(_ grace: Duration, _ flight: Race<Payload>) async throws -> Payload? {
        try await firstOf({ try await flight.value }, orAfter: grace, on: clock) { nil }
    }

    /// The last value for `key` if it is not too old to serve.
    private func staleValue(for key: CacheKey, reason: String) -> Payload? {
        guard policy.ttl > .zero, policy.maxStale > .zero, var entry = entries[key], let payload = entry.payload,
            clock.monotonicNow() - entry.fetchedAt < entry.lifetime + policy.maxStale
        else { return nil }
        stats.staleServes += 1
        if !entry.staleLogged {
            entry.staleLogged = true
            entries[key] = entry
            logger.warning("serving stale value", metadata: ["path": "\(key.path)", "reason": "\(reason)"])
            let version = Self.version(of: payload)
            changeHandler?(CacheChange(key, cause: .stale, oldVersion: version, newVersion: version))
        }
        return payload
    }

    /// The one upstream call for `key`: joined if one is running, refused while the breaker is
    /// open. Two tasks: the call, which knows its deadline (`CallDeadline`), and the deadline's
    /// timer; whichever ends first gives the answer to every reader, stores it and stops the other.
    /// So the call completes even when no reader waits any more, and a call that ignores its
    /// cancellation cannot hold a reader past the deadline.
    func flight(
        _ key: CacheKey, refreshing: Bool = false,
        fetch: @escaping @Sendable () async throws -> Payload
    ) -> Race<Payload> {
        if let running = inflight[key] { return running }
        guard breaker.allow(at: clock.monotonicNow()) else {
            stats.breakerRejections += 1
            return Race(finished: .failure(SecretError(.unavailable, "backend circuit open after repeated failures")))
        }
        stats.backendCalls += 1
        let timeout = policy.backendTimeout
        let clock = self.clock
        let deadline = clock.monotonicNow() + timeout
        let race = Race<Payload>()
        // Detached: neither starts on this actor only to leave it at once; each comes back to it
        // once, with its answer.
        let work = Task.detached { [weak self] in
            let result: Result<Payload, SecretError>
            do {
                let payload = try await CallDeadline.$enclosing.withValue(deadline) { try await fetch() }
                result = .success(payload)
            } catch {
                result = .failure(SecretError.from(error))
            }
            await self?.settle(key, race, result, refreshing: refreshing)
        }
        let timer = Task.detached { [weak self] in
            do { try await clock.sleep(for: timeout) } catch { return }
            let late = SecretError(.unavailable, "backend call took longer than \(timeout.seconds)s")
            await self?.settle(key, race, .failure(late), refreshing: refreshing)
        }
        race.onLoss([{ work.cancel() }, { timer.cancel() }])
        inflight[key] = race
        return race
    }

    /// The first answer of `race` (the call's or its deadline's) is stored and given to its readers;
    /// a later one changes nothing.
    private func settle(
        _ key: CacheKey, _ race: Race<Payload>, _ result: Result<Payload, SecretError>, refreshing: Bool
    ) {
        // The readers it wakes wait for this actor, so they find the answer stored.
        guard race.finish(result.mapError { $0 as any Error }) else { return }
        finish(key, result, refreshing: refreshing)
    }

    private func finish(_ key: CacheKey, _ result: Result<Payload, SecretError>, refreshing: Bool) {
        inflight[key] = nil
        slowFlights.remove(key)
        // A refresh's answer is due one cycle after the answer it replaces was.
        let slot = refreshing ? entries[key].map { $0.fetchedAt + $0.lifetime } : nil
        switch result {
        case .success(let payload):
            breaker.recordSuccess()
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
        stats.record(error: failure, path: key.path, at: clock.wallNow())
        if failure.code == .unavailable {
            breaker.recordUnavailable(at: clock.monotonicNow())
        } else {
            breaker.recordSuccess()
        }
        if failure.code == .notFound, policy.ttl > .zero, policy.negativeTTL > .zero {
            let previous = entries[key]
            // A miss's lifetime is how long it is remembered.
            entries[key] = Entry(
                payload: nil, missing: failure, fetchedAt: clock.monotonicNow(),
                lifetime: failure.fromReplica ? policy.replicaMissTTL : policy.negativeTTL, lastUsed: nextTick())
            if let gone = previous?.payload {
                mirrorRecord(key, nil)
                changeHandler?(CacheChange(key, cause: .deleted, oldVersion: Self.version(of: gone)))
            }
            evictIfNeeded()
        }
    }

    private func queueRefresh(_ key: CacheKey, fetch: @escaping @Sendable () async throws -> Payload) {
        guard inflight[key] == nil, queuedRefreshes.insert(key).inserted else { return }
        refreshAhead.submit { [weak self] in await self?.startRefresh(key, fetch: fetch) }
    }

    /// The queued refresh of `key`, unless a reader's call got there first or the entry went.
    private func startRefresh(_ key: CacheKey, fetch: @escaping @Sendable () async throws -> Payload) {
        guard queuedRefreshes.remove(key) != nil, inflight[key] == nil, let entry = entries[key],
            entry.payload != nil,
            clock.monotonicNow() - entry.fetchedAt >= entry.lifetime * policy.refreshAheadFraction
        else { return }
        stats.refreshes += 1
        _ = flight(key, refreshing: true, fetch: fetch)
    }

    /// The one upstream call that answers `key`.
    func fetcher(_ key: CacheKey) -> @Sendable () async throws -> Payload {
        let upstream = self.upstream
        switch key {
        case .secret(let path, let version):
            return { .secret(try await upstream.read(path, version: version)) }
        case .listing(let folder):
            return listingFetch(folder)
        case .versions(let path):
            return { .versions(try await upstream.versions(of: path)) }
        }
    }

    func store(
        _ key: CacheKey, _ payload: Payload, cause: ChangeCause, first: Bool = false, following slot: Duration? = nil,
        used: Bool = false
    ) {
        if policy.ttl == .zero { learnFolders(key, payload) }
        let lifetime: Duration
        if policy.ttl > .zero {
            lifetime = self.lifetime(first: first, following: slot)
        } else if case .listing = key, policy.coalescingWindow > .zero {
            lifetime = policy.coalescingWindow
            dropExpiredWindow()
        } else {
            return
        }
        let previous = entries[key]
        let entry = Entry(
            payload: payload, missing: nil, fetchedAt: clock.monotonicNow(), lifetime: lifetime, lastUsed: nextTick(),
            used: used)
        entries[key] = entry
        mirrorRecord(key, entry)
        scheduleExpiry(key, at: entry.fetchedAt + lifetime)
        if let previous, previous.missing != nil || previous.staleLogged || !Self.same(previous.payload, payload) {
            let cause: ChangeCause = previous.staleLogged ? .recovered : cause
            changeHandler?(
                CacheChange(
                    key, cause: cause, oldVersion: Self.version(of: previous.payload),
                    newVersion: Self.version(of: payload)))
        }
        evictIfNeeded()
    }

    private static func version(of payload: Payload?) -> String? {
        if case .secret(let secret)? = payload { return secret.version }
        return nil
    }

    /// The current secrets a listing brought (`SecretStore.listWithCurrent`), kept as if each had
    /// been read: the lookups of a walk (`find`, `ls -l`) then ask the store nothing more. A value
    /// already kept and unchanged keeps its age; one being read is left to that read. Only while
    /// there is room: a walk of a big tree must not push out what readers read (nor make every
    /// listing evict).
    private func keepListed(_ current: [String: Secret], in folder: SecretPath) {
        if kinds.count + current.count > policy.maxEntries { kinds.removeAll(keepingCapacity: true) }
        for (name, secret) in current {
            guard let path = try? folder.appending(name) else { continue }
            if case .fields = secret.content { kinds[path] = true } else { kinds[path] = false }
        }
        guard entries.count + current.count < policy.maxEntries else { return }
        for (name, secret) in current {
            guard let path = try? folder.appending(name) else { continue }
            let key = CacheKey.secret(path, version: nil)
            guard inflight[key] == nil else { continue }
            if let entry = entries[key], case .secret(let kept)? = entry.payload, kept == secret,
                clock.monotonicNow() - entry.fetchedAt < entry.lifetime
            {
                continue
            }
            store(key, .secret(secret), cause: .outside)
        }
    }

    /// What an answer at TTL 0 says of folders: a listing names its child folders (and is empty when
    /// the folder is gone); a current value found means every folder above it exists.
    private func learnFolders(_ key: CacheKey, _ payload: Payload) {
        let now = clock.monotonicNow()
        switch (key, payload) {
        case (.listing(let folder), .listing(let listing)):
            folders.learn(listing, of: folder, at: now)
        case (.secret(let path, version: nil), .secret):
            if let parent = path.parent { folders.remember(parent, at: now) }
        default:
            break
        }
    }

    /// At TTL 0 the cache holds only the listings of the last moment; those past it go, a few at a
    /// time, so a walk of many folders does not leave every listing it made behind.
    private func dropExpiredWindow() {
        guard entries.count >= Self.windowSlack else { return }
        let now = clock.monotonicNow()
        entries = entries.filter { now - $0.value.fetchedAt < $0.value.lifetime }
    }

    /// Listings the coalescing window may hold before those past it are dropped.
    static let windowSlack = 64

    private static func same(_ old: Payload?, _ new: Payload) -> Bool {
        switch (old, new) {
        case (.secret(let a)?, .secret(let b)): return a == b
        case (.listing(let a)?, .listing(let b)): return a == b
        case (.versions(let a)?, .versions(let b)): return a == b
        default: return false
        }
    }

    /// Drops the least recently used tenth at once, so a full cache does not sort on every insert.
    private func evictIfNeeded() {
        guard entries.count > policy.maxEntries else { return }
        let target = max(0, policy.maxEntries - max(1, policy.maxEntries / 10))
        let victims = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(entries.count - target)
        for (key, _) in victims {
            entries[key] = nil
            mirrorRecord(key, nil)
        }
        stats.evictions += victims.count
    }

    private func nextTick() -> UInt64 {
        tick += 1
        return tick
    }

    private func callUpstream<T: Sendable>(
        _ path: SecretPath,
        _ body: @escaping @Sendable (any SecretStore) async throws -> T
    ) async throws -> T {
        stats.backendCalls += 1
        let upstream = self.upstream
        do {
            let timeout = policy.backendTimeout
            let value = try await firstOf(call: { try await body(upstream) }, orAfter: timeout, on: clock) {
                throw SecretError(.unavailable, "backend call took longer than \(timeout.seconds)s")
            }
            breaker.recordSuccess()
            return value
        } catch {
            let failure = SecretError.from(error)
            stats.record(error: failure, path: path, at: clock.wallNow())
            if failure.code == .unavailable { breaker.recordUnavailable(at: clock.monotonicNow()) }
            throw failure
        }
    }
}

extension CachingSecretStore.Payload {
    init(_ mirrored: MirroredEntry.Payload) {
        switch mirrored {
        case .secret(let secret): self = .secret(secret)
        case .listing(let listing): self = .listing(listing)
        case .versions(let versions): self = .versions(versions)
        }
    }

    var mirrored: MirroredEntry.Payload {
        switch self {
        case .secret(let secret): return .secret(secret)
        case .listing(let listing): return .listing(listing)
        case .versions(let versions): return .versions(versions)
        }
    }
}
