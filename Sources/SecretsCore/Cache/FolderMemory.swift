/// What a lookup at TTL 0 may go by without asking the store (`CachingSecretStore.lookupHint`).
public enum LookupHint: Sendable, Equatable {
    /// The parent's listing of a moment ago is at hand (or being fetched): decide by it.
    case parentListed
    /// The name was seen as a folder within the negative TTL: a folder, no call needed.
    case folder
    /// Nothing known: the store must be asked.
    case unknown
}

/// At TTL 0, the folders (path prefixes) seen a moment ago, so the lookups along a path need not each
/// list a folder (DESIGN §1.1, one backend read per open). A folder carries no value: remembering that
/// it exists can make nothing stale but the folder itself, which may go on showing (empty, since a
/// listing is always fetched anew) for at most `lifetime` after it is gone at the store. What is in it
/// is never taken from here: a secret below is read, and a name not seen is asked for, every time.
struct FolderMemory {
    let lifetime: Duration
    let limit: Int
    private var seen: [SecretPath: Duration] = [:]

    init(lifetime: Duration, limit: Int) {
        self.lifetime = lifetime
        self.limit = max(limit, 1)
    }

    func knows(_ folder: SecretPath, at now: Duration) -> Bool {
        folder.isRoot || seen[folder].map { now - $0 < lifetime } ?? false
    }

    /// `folder` and every folder above it exist now.
    mutating func remember(_ folder: SecretPath, at now: Duration) {
        guard lifetime > .zero else { return }
        if seen.count >= limit { seen = seen.filter { now - $0.value < lifetime } }
        // Still full of live ones: a walk of a big tree; start over rather than sort.
        if seen.count >= limit { seen.removeAll(keepingCapacity: true) }
        var folder = folder
        while !folder.isRoot {
            seen[folder] = now
            guard let parent = folder.parent else { break }
            folder = parent
        }
    }

    /// What a listing of `folder` shows: its child folders exist, and so does it unless it is empty
    /// (folders exist only through what is below them), in which case it and what was below it are gone.
    mutating func learn(_ listing: Listing, of folder: SecretPath, at now: Duration) {
        guard !listing.isEmpty else {
            forget(folder)
            return
        }
        for name in listing.folders {
            guard let child = try? folder.appending(name) else { continue }
            remember(child, at: now)
        }
        remember(folder, at: now)
    }

    mutating func forget(_ folder: SecretPath) {
        if folder.isRoot {
            seen.removeAll()
        } else {
            seen = seen.filter { !$0.key.hasPrefix(folder) }
        }
    }
}
