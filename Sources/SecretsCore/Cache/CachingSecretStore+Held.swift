/// What the cache answers from the answers it holds, asking the store nothing: the kept answers a
/// READDIRPLUS gives only when they are free, the ages `.status` and the xattrs show, the kinds a
/// listing shows, and the answers handed over between workers (`CacheMirror`).
extension CachingSecretStore {
    /// What `readWithOutcome(path, version: nil)` answers when a fresh value is kept (a hit, counted
    /// and refreshed ahead as any); nil, asking the store nothing, when it would have to ask it.
    /// For answers that are worth giving only when they cost no backend call (READDIRPLUS).
    public func readKept(_ path: SecretPath) throws -> CacheAnswer<Secret>? {
        let key = CacheKey.secret(path, version: nil)
        guard case .secret(let secret)? = try kept(key, fetcher(key)) else { return nil }
        return CacheAnswer(secret, .hit)
    }

    /// What `list(folder)` answers when a fresh listing is kept (a hit); nil, asking the store
    /// nothing, when it would have to ask it.
    public func listKept(_ folder: SecretPath) throws -> Listing? {
        let key = CacheKey.listing(folder)
        guard case .listing(let listing)? = try kept(key, fetcher(key)) else { return nil }
        return listing
    }

    /// What a lookup of `path` may go by at TTL 0 without asking the store (DESIGN §1.1): the
    /// lookups along a path must not each cost a listing (`CoalescingSecretStore.lookupHint`). Always
    /// `.unknown` when values are cached.
    public nonisolated func lookupHint(_ path: SecretPath) async -> LookupHint {
        guard let coalescing else { return .unknown }
        return await coalescing.lookupHint(path)
    }

    /// For each path: whether its current value is a multi-field secret (a folder), from a cached
    /// value or the last listing that brought it; nil when neither knows. Asks the store nothing.
    public func peekFolders(_ paths: [SecretPath]) -> [Bool?] {
        paths.map { table.isFolder($0) }
    }

    /// How much longer the cached answer for `key` stays fresh (its lifetime is the TTL less its
    /// random spread); nil when nothing fresh is cached.
    public func freshLeft(_ key: CacheKey) -> Duration? {
        guard let entry = table[key], entry.payload != nil else { return nil }
        let left = entry.lifetime - (clock.monotonicNow() - entry.fetchedAt)
        return left > .zero ? left : nil
    }

    /// How old the cached answer for `key` is, and whether it is past its TTL (being served
    /// stale, or about to be refreshed); nil when nothing is cached.
    public func freshness(of key: CacheKey) -> (age: Duration, expired: Bool)? {
        guard let entry = table[key], entry.payload != nil else { return nil }
        let age = clock.monotonicNow() - entry.fetchedAt
        return (age, age >= entry.lifetime)
    }

    // MARK: Handing over between workers

    /// Copies every answer stored from now on to `mirror`, for a worker that may replace this one.
    public func mirror(to mirror: any CacheMirror) {
        table.mirror(to: mirror)
    }

    /// Takes over the answers a previous worker had, aged by the time since they were fetched.
    /// Entries too old to be served even stale are left out. Returns how many were taken.
    @discardableResult
    public func restore(_ restored: [(CacheKey, MirroredEntry)]) -> Int {
        guard coalescing == nil else { return 0 }
        var taken = 0
        let now = clock.monotonicNow()
        let wallNow = clock.wallNow()
        for (key, entry) in restored {
            let age = Duration.seconds(max(0, wallNow.timeIntervalSince(entry.fetchedAt)))
            guard age < policy.ttl + policy.maxStale else { continue }
            let fetchedAt = now - age
            let lifetime = lifetime()
            table.put(
                key, EntryTable.Entry(payload: entry.payload, missing: nil, fetchedAt: fetchedAt, lifetime: lifetime),
                mirrored: false)
            scheduleExpiry(key, at: fetchedAt + lifetime)
            taken += 1
        }
        evictIfNeeded()
        return taken
    }
}
