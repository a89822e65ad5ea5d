import Logging

/// The store in front of another at `--cache-ttl 0`, where no value is kept (DESIGN §1.1: one backend
/// read per open): every read reaches the store, nothing is served stale and no miss is remembered.
/// What it adds is what a mount needs even so: one call per key however many ask while it runs, each
/// within the deadline and refused while the breaker is open (`Flights`, as the caching store's calls),
/// and what the lookups of one moment share: the listings of the last `CachePolicy.coalescingWindow`
/// and the folders seen for the last `negativeTTL` (`FolderMemory`). A listing is fetched anew for
/// `list` and shared only to find what is there (`list(_:lookingUp:)`). `CachingSecretStore` composes
/// it when its TTL is 0 and hands it every call (swift-configuration's wrapper providers).
public actor CoalescingSecretStore: StoreFront {
    typealias Payload = MirroredEntry.Payload

    public nonisolated let descriptor: StoreDescriptor
    public nonisolated let upstream: any SecretStore
    let clock: any TimeSource
    let window: Duration
    var flights: Flights
    var stats = CacheStatistics()
    var changeHandler: (@Sendable (CacheChange) -> Void)?
    /// The listings of the last moment. Never mirrored: nothing outlives the moment a replacing
    /// worker would need to take it over.
    var table: EntryTable
    var folders: FolderMemory

    /// Listings the window may hold before those past it are dropped.
    static let windowSlack = 64

    public init(upstream: any SecretStore, policy: CachePolicy, clock: any TimeSource = SystemTimeSource()) {
        self.upstream = upstream
        self.descriptor = upstream.descriptor
        self.clock = clock
        self.window = policy.coalescingWindow
        self.flights = Flights(policy: policy, clock: clock)
        self.table = EntryTable(limit: policy.maxEntries, clock: clock, mirrors: false)
        self.folders = FolderMemory(lifetime: policy.negativeTTL, limit: policy.maxEntries)
    }

    public func onChange(_ handler: @escaping @Sendable (CacheChange) -> Void) {
        changeHandler = handler
    }

    public func statistics() -> CacheStatistics {
        var copy = stats
        copy.entries = table.count
        copy.breakerState = flights.breakerState
        return copy
    }

    // MARK: SecretStore

    public nonisolated func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await readWithOutcome(path, version: version).value
    }

    /// Always from the store (`.miss`), joined with the reads of the same key running.
    public nonisolated func readWithOutcome(_ path: SecretPath, version: String?) async throws -> CacheAnswer<Secret> {
        let answer = try await lookup(.secret(path, version: version), reuse: false)
        guard case .secret(let secret) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(secret, answer.outcome)
    }

    /// Every call reaches the store (and its answer is kept for the lookups of the next moment).
    public nonisolated func list(_ folder: SecretPath) async throws -> Listing {
        try await listing(folder, reuse: false).value
    }

    /// The listing a lookup of `name` in `folder` decides by: the one of the moment, but only to find
    /// what is there: one that does not show `name` is fetched again, so a name made since is seen by
    /// the very next lookup.
    public nonisolated func list(_ folder: SecretPath, lookingUp name: String) async throws -> Listing {
        let answer = try await listing(folder, reuse: true)
        let listing = answer.value
        guard answer.outcome == .hit, !listing.secrets.contains(name), !listing.folders.contains(name) else {
            return listing
        }
        return try await self.listing(folder, reuse: false).value
    }

    /// Whether `path` is a folder, by listing it: that listing then answers the lookups inside it for
    /// a moment.
    public nonisolated func isFolder(_ path: SecretPath) async throws -> Bool {
        try await !listing(path, reuse: true).value.isEmpty
    }

    public nonisolated func versions(of path: SecretPath) async throws -> [VersionInfo] {
        let answer = try await lookup(.versions(path), reuse: false)
        guard case .versions(let versions) = answer.value else {
            throw SecretError(.internal, "cache payload mismatch")
        }
        return versions
    }

    public func health() async -> HealthReport { await checkedHealth() }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try await writeThrough(path, content: content)
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        try await rotateThrough(request)
    }

    public func invalidate(
        _ path: SecretPath, field: String? = nil, oldVersion: String? = nil, newVersion: String? = nil
    ) {
        forget(path, field: field, oldVersion: oldVersion, newVersion: newVersion)
    }

    public func shutdown() async {
        table.removeAll()
        folders.forget(.root)
        await upstream.shutdown()
    }

    /// What a lookup of `path` may go by without asking the store: its parent's listing of the moment
    /// (held or being fetched), or `path` seen as a folder.
    public func lookupHint(_ path: SecretPath) -> LookupHint {
        guard let parent = path.parent else { return .unknown }
        let listing = CacheKey.listing(parent)
        let now = clock.monotonicNow()
        if flights.isRunning(listing) { return .parentListed }
        if let entry = table[listing], entry.payload != nil, entry.isFresh(at: now) { return .parentListed }
        guard folders.knows(path, at: now) else { return .unknown }
        stats.hits += 1
        return .folder
    }

    // MARK: The calls

    nonisolated func listing(_ folder: SecretPath, reuse: Bool) async throws -> CacheAnswer<Listing> {
        let answer = try await lookup(.listing(folder), reuse: reuse)
        guard case .listing(let listing) = answer.value else { throw SecretError(.internal, "cache payload mismatch") }
        return CacheAnswer(listing, answer.outcome)
    }

    /// A listing of the moment (with `reuse`), or the call for `key`: joined if one runs. Waited for off
    /// the actor, which its answer reaches by itself (`settle`).
    nonisolated func lookup(_ key: CacheKey, reuse: Bool) async throws -> CacheAnswer<Payload> {
        switch await start(key, reuse: reuse) {
        case .answer(let answer):
            return answer
        case .call(let flight):
            do {
                let payload = try await flight.value
                return CacheAnswer(payload, .miss)
            } catch {
                // Nothing kept, so nothing stale to serve.
                throw SecretError.from(error)
            }
        }
    }

    private func start(_ key: CacheKey, reuse: Bool) -> Lookup {
        if reuse, let entry = table.use(key), let payload = entry.payload, entry.isFresh(at: clock.monotonicNow()) {
            stats.hits += 1
            return .answer(CacheAnswer(payload, .hit))
        }
        stats.misses += 1
        let upstream = self.upstream
        let fetch: @Sendable () async throws -> Payload
        switch key {
        case .secret(let path, let version): fetch = { .secret(try await upstream.read(path, version: version)) }
        // No value is kept, so the current secrets a listing may bring are not asked for.
        case .listing(let folder): fetch = { .listing(try await upstream.list(folder)) }
        case .versions(let path): fetch = { .versions(try await upstream.versions(of: path)) }
        }
        return .call(
            flights.join(key, stats: &stats, fetch: fetch) { [weak self] race, result in
                await self?.settle(key, race, result)
            })
    }

    /// The first answer of `race` (the call's or its deadline's) is given to its readers and learnt
    /// from; a later one changes nothing.
    private func settle(_ key: CacheKey, _ race: Race<Payload>, _ result: Result<Payload, SecretError>) {
        // Learnt first, then given, as `CachingSecretStore.settle` does: only this actor finishes it.
        guard !race.isFinished else { return }
        defer { race.finish(result.mapError { $0 as any Error }) }
        flights.landed(key)
        switch result {
        case .success(let payload):
            flights.breaker.recordSuccess()
            learn(key, payload)
        case .failure(let failure):
            trace(failure, path: key.path)
            if failure.code != .unavailable { flights.breaker.recordSuccess() }
        }
    }

    /// What an answer says of folders: a listing names its child folders (and is empty when the folder
    /// is gone), and is kept for the window; a current value found means every folder above it exists.
    private func learn(_ key: CacheKey, _ payload: Payload) {
        let now = clock.monotonicNow()
        switch (key, payload) {
        case (.listing(let folder), .listing(let listing)):
            folders.learn(listing, of: folder, at: now)
        case (.secret(let path, version: nil), .secret):
            if let parent = path.parent { folders.remember(parent, at: now) }
            return
        default:
            return
        }
        guard window > .zero else { return }
        // The listings past the window go, a few at a time, so a walk of many folders does not leave
        // every listing it made behind.
        if table.count >= Self.windowSlack { table.dropExpired(at: now) }
        let previous = table[key]
        table.put(key, EntryTable.Entry(payload: payload, missing: nil, fetchedAt: now, lifetime: window))
        if let previous, previous.payload != payload {
            changeHandler?(CacheChange(key, cause: .outside, oldVersion: nil, newVersion: nil))
        }
        stats.evictions += table.evictIfNeeded()
    }
}
