/// What a cache keeps at TTL 0, where no value is kept (DESIGN §1.1: one backend read per open): the
/// listings of the last moment (`CachePolicy.coalescingWindow`), which the lookups that follow one
/// share, and the folders seen for the last `negativeTTL` (`FolderMemory`). Every value read
/// reaches the store; a listing is fetched anew for `list` and shared only to find what is there
/// (`CachingSecretStore.list(_:lookingUp:)`). The cache composes it only when its TTL is zero.
struct Coalescing {
    let window: Duration
    private(set) var folders: FolderMemory

    /// Listings the window may hold before those past it are dropped.
    static let windowSlack = 64

    init?(_ policy: CachePolicy) {
        guard policy.ttl == .zero else { return nil }
        window = policy.coalescingWindow
        folders = FolderMemory(lifetime: policy.negativeTTL, limit: policy.maxEntries)
    }

    /// How long an answer for `key` is shared: a listing for the window, anything else not at all.
    func lifetime(of key: CacheKey) -> Duration? {
        guard case .listing = key, window > .zero else { return nil }
        return window
    }

    /// What an answer says of folders: a listing names its child folders (and is empty when the
    /// folder is gone); a current value found means every folder above it exists.
    mutating func learn(_ key: CacheKey, _ payload: MirroredEntry.Payload, at now: Duration) {
        switch (key, payload) {
        case (.listing(let folder), .listing(let listing)):
            folders.learn(listing, of: folder, at: now)
        case (.secret(let path, version: nil), .secret):
            if let parent = path.parent { folders.remember(parent, at: now) }
        default:
            break
        }
    }

    /// What a lookup of `path` may go by without asking the store: its parent's listing of the moment
    /// (held or being fetched), or `path` seen as a folder.
    func hint(_ path: SecretPath, table: EntryTable, flights: Flights) -> LookupHint {
        guard let parent = path.parent else { return .unknown }
        let listing = CacheKey.listing(parent)
        let now = table.clock.monotonicNow()
        if flights.isRunning(listing) { return .parentListed }
        if let entry = table[listing], entry.payload != nil, entry.isFresh(at: now) { return .parentListed }
        return folders.knows(path, at: now) ? .folder : .unknown
    }

    /// The listings past the window go, a few at a time, so a walk of many folders does not leave
    /// every listing it made behind.
    func dropExpired(from table: inout EntryTable) {
        guard table.count >= Self.windowSlack else { return }
        table.dropExpired(at: table.clock.monotonicNow())
    }

    mutating func forgetAll() { folders.forget(.root) }
}
