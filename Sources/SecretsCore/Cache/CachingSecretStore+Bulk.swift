/// The cache's answers taken many at a time: for prefetch at mount and for the freshness service,
/// which read through the store's bulk request and confirm unchanged values from a listing.
extension CachingSecretStore {
    /// Reads the current values of `paths` with the store's bulk read and keeps each as a read would
    /// (announcing those that changed); a path that fails keeps what was cached, and a missing one
    /// is remembered as missing. Returns the failures.
    @discardableResult
    public func fetchMany(_ paths: [SecretPath]) async -> [SecretPath: SecretError] {
        var seen = Set<SecretPath>()
        let unique = paths.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return [:] }
        guard flights.admit(&stats) else {
            return Dictionary(uniqueKeysWithValues: unique.map { ($0, Flights.circuitOpen.at($0)) })
        }
        let answer = await upstream.readMany(unique)
        stats.backendCalls += answer.requests
        var failures: [SecretPath: SecretError] = [:]
        for path in unique {
            let key = CacheKey.secret(path, version: nil)
            switch answer.results[path] {
            case .success(let secret)?:
                flights.breaker.recordSuccess()
                store(key, .secret(secret), cause: .refresh)
            case .failure(let failure)?:
                failures[path] = failure
                record(failure, for: key)
            case nil:
                let failure = SecretError(.internal, "the store's bulk read left this secret out").at(path)
                failures[path] = failure
                record(failure, for: key)
            }
        }
        return failures
    }

    /// Keeps an empty listing for each cached multi-field secret in `paths` that its parent's cached
    /// listing shows as no folder: a lookup inside a secret shown as a folder asks for the listing of
    /// its path first, so without this the first read of a prefetched secret's field would still
    /// cost a call (and fail in an outage prefetch was meant to cover). Where the parent's listing is
    /// not cached, nothing is assumed.
    public func rememberNothingBelow(_ paths: [SecretPath]) {
        for path in paths {
            guard let parent = path.parent, table[.listing(path)]?.payload == nil,
                case .listing(let above)? = table[.listing(parent)]?.payload, !above.folders.contains(path.name),
                case .secret(let secret)? = table[.secret(path, version: nil)]?.payload,
                case .fields = secret.content
            else { continue }
            store(.listing(path), .listing(Listing()), cause: .refresh)
        }
    }

    /// The version of every current value cached, fresh or not.
    public func cachedVersions() -> [SecretPath: String] {
        table.currentVersions()
    }

    /// Marks the cached current values of `paths` fresh again without a fetch, as if just read: a
    /// listing showed their version unchanged. Paths not cached are left alone.
    public func confirmFresh(_ paths: some Sequence<SecretPath>) {
        let now = clock.monotonicNow()
        for path in paths {
            let key = CacheKey.secret(path, version: nil)
            guard table[key]?.payload != nil else { continue }
            let lifetime = lifetime()
            table.update(key) {
                $0.fetchedAt = now
                $0.lifetime = lifetime
                $0.staleLogged = false
            }
            stats.confirmedFresh += 1
        }
    }

    /// Replaces every cached folder listing by the one `paths` imply, when `paths` is every secret the
    /// store shows (a listing of versions): new and deleted secrets show within the freshness
    /// interval without a listing of their own. Changed listings are announced as any change.
    /// `creating` names folders to cache a listing of even where none is cached yet (prefetch).
    public func refreshListings(from paths: some Collection<SecretPath>, creating: Set<SecretPath> = []) {
        var folders: [String: (SecretPath, Listing)] = [:]
        for case (.listing(let folder), let entry) in table.entries where entry.payload != nil {
            folders[folder.string] = (folder, Listing())
        }
        for folder in creating { folders[folder.string] = (folder, Listing()) }
        guard !folders.isEmpty else { return }
        for path in paths {
            let segments = path.segments
            var folder = ""
            for (depth, segment) in segments.enumerated() {
                if folders[folder] != nil {
                    if depth == segments.count - 1 {
                        folders[folder]!.1.secrets.insert(segment)
                    } else {
                        folders[folder]!.1.folders.insert(segment)
                    }
                }
                folder = folder.isEmpty ? segment : folder + "/" + segment
            }
        }
        for (folder, listing) in folders.values { store(.listing(folder), .listing(listing), cause: .refresh) }
    }

    /// The store's listing of current versions, counted as backend calls; nil when it has none.
    public func currentVersions() async throws -> VersionListing? {
        // Not the breaker's probe: a listing never stands in for the read that tells it recovered.
        guard !flights.isOpen else {
            stats.breakerRejections += 1
            throw Flights.circuitOpen
        }
        do {
            let listing = try await upstream.currentVersions()
            if let listing {
                stats.backendCalls += listing.requests
                stats.freshnessChecks += 1
                flights.breaker.recordSuccess()
            }
            return listing
        } catch {
            let failure = SecretError.from(error)
            stats.backendCalls += 1
            trace(failure, path: .root)
            throw failure
        }
    }

    /// Keeps what `--prefetch` did, for `.status`.
    public func recordPrefetch(_ figures: CacheStatistics.Prefetch) {
        stats.prefetch = figures
    }

    public func recordCacheFile(_ change: (inout CacheStatistics.CacheFile) -> Void, path: String) {
        var figures = stats.cacheFile ?? CacheStatistics.CacheFile(path: path)
        change(&figures)
        stats.cacheFile = figures
    }
}
