/// The answers a cache holds: each with its age, lifetime and last use, bounded by `limit` (the least
/// recently used leave first), the kinds (value or folder) the listings brought, and the mirror a
/// replacing worker takes them over from. It decides nothing about freshness: its owner does.
struct EntryTable {
    typealias Payload = MirroredEntry.Payload

    struct Entry {
        var payload: Payload?
        var missing: SecretError?
        var fetchedAt: Duration
        /// How long it is fresh: the TTL less its random spread (`CachePolicy.refreshJitter`,
        /// `lifetime(first:)`), or the coalescing window at TTL 0.
        var lifetime: Duration
        var lastUsed: UInt64 = 0
        var staleLogged = false
        /// A reader asked for it since it was fetched: its expiry fetches it again (`refreshExpiring`).
        var used = false

        func isFresh(at now: Duration) -> Bool { now - fetchedAt < lifetime }
    }

    let limit: Int
    let clock: any TimeSource
    /// Whether entries are copied to a mirror at all: at TTL 0 nothing outlives the moment a
    /// replacing worker would need to take it over.
    let mirrors: Bool
    private(set) var entries: [CacheKey: Entry] = [:]
    private var tick: UInt64 = 0
    /// Whether each secret a listing brought is a multi-field one (a folder) or a value, kept apart
    /// from the values: a name of a big walk whose value did not fit still lists with its type, so
    /// `find -type f` need not look it up. Bounded by `limit`, dropped whole when full.
    private var kinds: [SecretPath: Bool] = [:]
    private var mirror: (any CacheMirror)?
    /// Records in the mirror that a later one superseded: their bytes (values among them) stay in
    /// the mirror's memory until it is rewritten, so it is rewritten once they outnumber the live.
    private var mirrorSuperseded = 0

    /// Superseded records a mirror may hold beyond the live ones before it is rewritten.
    static let mirrorSlack = 64

    init(limit: Int, clock: any TimeSource, mirrors: Bool) {
        self.limit = limit
        self.clock = clock
        self.mirrors = mirrors
    }

    var count: Int { entries.count }

    subscript(key: CacheKey) -> Entry? { entries[key] }

    /// Stores `entry` as the most recently used, and mirrors it unless told not to (a remembered
    /// miss, an answer taken over from the mirror).
    mutating func put(_ key: CacheKey, _ entry: Entry, mirrored: Bool = true) {
        var entry = entry
        tick += 1
        entry.lastUsed = tick
        entries[key] = entry
        if mirrored { record(key, entry) }
    }

    /// Changes `key`'s entry in place (age, flags): not a new answer, so the mirror is not told.
    mutating func update(_ key: CacheKey, _ change: (inout Entry) -> Void) {
        guard var entry = entries[key] else { return }
        change(&entry)
        entries[key] = entry
    }

    /// The entry for `key`, now marked the most recently used and asked for.
    mutating func use(_ key: CacheKey) -> Entry? {
        guard var entry = entries[key] else { return nil }
        tick += 1
        entry.lastUsed = tick
        entry.used = true
        entries[key] = entry
        return entry
    }

    mutating func remove(_ key: CacheKey) {
        guard entries.removeValue(forKey: key) != nil else { return }
        record(key, nil)
    }

    /// Drops, without telling the mirror, the entries past their lifetime (the coalescing window's).
    mutating func dropExpired(at now: Duration) {
        entries = entries.filter { $0.value.isFresh(at: now) }
    }

    mutating func removeAll() {
        entries.removeAll()
        kinds.removeAll()
    }

    /// Drops the least recently used tenth at once, so a full table does not sort on every insert.
    /// Returns how many went.
    mutating func evictIfNeeded() -> Int {
        guard entries.count > limit else { return 0 }
        let target = max(0, limit - max(1, limit / 10))
        let victims = entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.prefix(entries.count - target)
        for (key, _) in victims { remove(key) }
        return victims.count
    }

    // MARK: Kinds

    /// Notes which of the secrets a listing of `folder` brought are folders (multi-field secrets).
    mutating func noteKinds(_ current: [String: Secret], in folder: SecretPath) {
        if kinds.count + current.count > limit { kinds.removeAll(keepingCapacity: true) }
        for (name, secret) in current {
            guard let path = try? folder.appending(name) else { continue }
            if case .fields = secret.content { kinds[path] = true } else { kinds[path] = false }
        }
    }

    mutating func forgetKind(_ path: SecretPath) { kinds[path] = nil }

    /// Whether `path`'s current value is a multi-field secret, from a value held or the last listing
    /// that brought it; nil when neither knows.
    func isFolder(_ path: SecretPath) -> Bool? {
        if case .secret(let secret)? = entries[.secret(path, version: nil)]?.payload {
            if case .fields = secret.content { return true }
            return false
        }
        return kinds[path]
    }

    /// The version of every current value held, fresh or not.
    func currentVersions() -> [SecretPath: String] {
        var versions: [SecretPath: String] = [:]
        for (key, entry) in entries {
            guard case .secret(let path, version: nil) = key, case .secret(let secret)? = entry.payload else {
                continue
            }
            versions[path] = secret.version
        }
        return versions
    }

    // MARK: Mirror

    /// Copies every answer held and stored from now on to `mirror`.
    mutating func mirror(to mirror: any CacheMirror) {
        self.mirror = mirror
        mirrorSuperseded = 0
        mirror.replaceAll(mirrors ? live() : [])
    }

    /// The answers held, with the wall-clock time each was fetched.
    func live() -> [(CacheKey, MirroredEntry)] {
        let now = clock.monotonicNow()
        let wallNow = clock.wallNow()
        return entries.compactMap { key, entry -> (CacheKey, MirroredEntry)? in
            guard let payload = entry.payload else { return nil }
            let fetchedAt = wallNow.addingTimeInterval(-(now - entry.fetchedAt).seconds)
            return (key, MirroredEntry(payload: payload, fetchedAt: fetchedAt))
        }
    }

    private mutating func record(_ key: CacheKey, _ entry: Entry?) {
        guard let mirror, mirrors else { return }
        let mirrored = entry.flatMap { entry in
            entry.payload.map { MirroredEntry(payload: $0, fetchedAt: clock.wallNow()) }
        }
        mirrorSuperseded += 1
        if !mirror.record(key, mirrored) || mirrorSuperseded > max(Self.mirrorSlack, entries.count) {
            mirror.replaceAll(live())
            mirrorSuperseded = 0
        }
    }
}

extension MirroredEntry.Payload {
    /// The version a current value's answer carries; nil for other answers.
    var version: String? {
        if case .secret(let secret) = self { return secret.version }
        return nil
    }
}
