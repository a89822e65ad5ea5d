import Logging

/// `--prefetch`: every secret whose path matches one of the patterns is read into the cache at mount,
/// before the mount says it is ready, so the first read of each is a hit; the freshness service keeps
/// them fresh afterwards. Patterns are path globs as everywhere in the config (`Glob`: `openai/*`,
/// `db/**`). Nothing here fails the mount: a secret that cannot be read is one log line and is read on
/// demand instead.
public struct Prefetch: Sendable {
    public let patterns: [String]
    private let segments: [[Substring]]

    public init(patterns: [String]) {
        self.patterns = patterns
        self.segments = patterns.map { $0.split(separator: "/") }
    }

    public var isEmpty: Bool { patterns.isEmpty }

    public func matches(_ path: SecretPath) -> Bool {
        segments.contains { Glob.matchesPath($0, path.segments[...]) }
    }

    /// Whether a secret below `folder` could match: the walk goes into no other folder.
    func mayMatchBelow(_ folder: SecretPath) -> Bool {
        let depth = folder.segments.count
        return segments.contains { pattern in
            // A secret below is at least one segment deeper than the folder.
            (pattern.contains("**") || pattern.count > depth) && Glob.prefixCompatible(pattern, folder.segments[...])
        }
    }

    /// Every matching secret, walking the listings of `store` from the root into the folders a pattern
    /// can reach, `concurrency` listings at a time. A listing that fails is logged and counted; what
    /// is below it is not walked.
    public func matchingPaths(
        in store: any SecretStore, logger: Logger, concurrency: Int = BulkRead.concurrency
    ) async -> (paths: [SecretPath], failedListings: Int) {
        await Self.walk(in: store, concurrency: concurrency, wanted: matches, entering: mayMatchBelow) {
            folder, failure in
            logger.warning(
                "prefetch could not list a folder; what is below it is read on demand",
                metadata: ["path": "\(folder)", "error": "\(failure.message)"])
        }
    }

    /// The one walk of a store's listings (prefetch, the paths `on_change` watches): from the root,
    /// into the folders `entering` accepts, `concurrency` listings at a time, keeping the secrets
    /// `wanted` accepts. A listing that fails goes to `failed`; what is below it is not walked.
    public static func walk(
        in store: any SecretStore, concurrency: Int = BulkRead.concurrency,
        wanted: @escaping @Sendable (SecretPath) -> Bool, entering: @escaping @Sendable (SecretPath) -> Bool,
        failed: (SecretPath, SecretError) -> Void = { _, _ in }
    ) async -> (paths: [SecretPath], failedListings: Int) {
        var found: [SecretPath] = []
        var failedListings = 0
        var level: [SecretPath] = [.root]
        while !level.isEmpty {
            var next: [SecretPath] = []
            for start in stride(from: 0, to: level.count, by: max(1, concurrency)) {
                let batch = level[start..<min(level.count, start + max(1, concurrency))]
                await withTaskGroup(of: PathAnswer<Listing>.self) { group in
                    for folder in batch {
                        group.addTask { await PathAnswer.of(folder) { try await store.list(folder) } }
                    }
                    for await answer in group {
                        let folder = answer.path
                        switch answer.result {
                        case .success(let listing):
                            for name in listing.secrets.sorted() {
                                if let path = try? folder.appending(name), wanted(path) { found.append(path) }
                            }
                            for name in listing.folders.sorted() {
                                if let below = try? folder.appending(name), entering(below) { next.append(below) }
                            }
                        case .failure(let failure):
                            failedListings += 1
                            failed(folder, failure)
                        }
                    }
                }
            }
            level = next.sorted()
        }
        return (found.sorted(), failedListings)
    }

    private func findMatches(
        through cache: CachingSecretStore, logger: Logger, concurrency: Int
    ) async -> (paths: [SecretPath], failedListings: Int) {
        // A store that cannot be listed now is walked instead, which logs what fails.
        guard let listing = try? await cache.currentVersions() else {
            return await matchingPaths(in: cache, logger: logger, concurrency: concurrency)
        }
        let found = listing.versions.keys.filter(matches).sorted()
        // The folders the walk would have listed on the way: the first `ls` of each is a hit too.
        var folders: Set<SecretPath> = []
        for path in found {
            var next = path.parent
            while let folder = next, folders.insert(folder).inserted { next = folder.parent }
        }
        await cache.refreshListings(from: listing.versions.keys, creating: folders)
        return (found, 0)
    }

    /// Finds the matches (from the store's listing of versions where it has one: one listing for the
    /// whole store instead of one per folder; else by walking `cache`'s listings), caches the folder
    /// listings on the way to them, and reads every match into `cache` with the store's bulk read.
    /// One log line per secret that failed; the figures go to `.status`, and the secrets read are returned.
    @discardableResult
    public func run(
        into cache: CachingSecretStore, clock: any TimeSource, logger: Logger,
        concurrency: Int = BulkRead.concurrency
    ) async -> (figures: CacheStatistics.Prefetch, read: [SecretPath]) {
        let started = clock.monotonicNow()
        var figures = CacheStatistics.Prefetch()
        let (paths, failedListings) = await findMatches(through: cache, logger: logger, concurrency: concurrency)
        figures.matched = paths.count
        figures.failedListings = failedListings
        let failures = await cache.fetchMany(paths)
        for (path, failure) in failures.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "prefetch could not read a secret; it is read on demand",
                metadata: ["path": "\(path)", "error": "\(failure.code)"])
        }
        await cache.rememberNothingBelow(paths.filter { failures[$0] == nil })
        figures.failed = failures.count
        figures.read = paths.count - failures.count
        figures.seconds = (clock.monotonicNow() - started).seconds
        await cache.recordPrefetch(figures)
        logger.info(
            "prefetch done",
            metadata: [
                "matched": "\(figures.matched)", "read": "\(figures.read)", "failed": "\(figures.failed)",
                "seconds": "\(figures.seconds)",
            ])
        return (figures, paths.filter { failures[$0] == nil })
    }
}
