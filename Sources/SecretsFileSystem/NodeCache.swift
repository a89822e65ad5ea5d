import Foundation
import SecretsCore
import Synchronization

/// What the file system resolved or made a moment ago, so the requests that follow are answered on
/// the FUSE thread without a trip through the store. Two kinds of entry, one rule:
/// - a value node, for the OPEN, READ and GETATTR that follow a LOOKUP; kept for a second at most
///   (less when the TTL is shorter), dropped when the store says the value changed;
/// - the bytes of a generated file (`.status`, `.metrics`, `.rotate`) as one process saw them. The
///   kernel reads these through the page cache when it opens files without asking, with no handle
///   to pin them to, and asks for their attributes before every read: if each ask made new bytes,
///   one `cat` could get the start of one document and the end of another. So a process that asked
///   a moment ago gets the same bytes and mtime; another process, or the same one later, new ones.
///
/// The rule: what was resolved before an invalidation is never stored after it. A lookup resolves,
/// a rotation invalidates, and only then does the lookup store what it resolved; so a caller reads
/// `generation` before it resolves and hands it to `store`, which keeps nothing when an
/// invalidation of that inode (or of everything) came since.
final class NodeCache: Sendable {
    struct Document: Sendable {
        var bytes: SecretValue
        var made: Date
    }

    enum Content: Sendable {
        case node(Node)
        case document(Document)
    }

    struct Key: Hashable, Sendable {
        var inode: UInt64
        /// The process a generated file was made for; nil for a value node, which every reader shares.
        var reader: Int32?
    }

    private struct Entry {
        var content: Content
        var until: Duration
        /// Whether an OPEN took this node: where each open must read the store, only one may.
        var opened = false
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var generation: UInt64 = 0
        /// The generation at which each inode was last invalidated, while that may still matter.
        var invalidated: [UInt64: UInt64] = [:]
        /// The generation of the last invalidation of everything.
        var clearedAt: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Small: an entry serves the requests of the next moment, and a `find` over a large tree must
    /// not keep every value it passed alive here.
    static let limit = 1_024
    static let documentLifetime: Duration = .seconds(1)

    /// How long a value node is kept: a second, or less when the TTL itself is shorter.
    static func nodeLifetime(_ ttlSeconds: Double) -> Duration {
        .milliseconds(Int64(min(ttlSeconds, 1) * 1000))
    }

    /// Read before resolving what will be stored, and handed to `store`.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// What is kept for `key`, and for how much longer it may be served.
    func entry(_ key: Key, now: Duration) -> (content: Content, left: Duration)? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.until > now else {
                state.entries[key] = nil
                return nil
            }
            return (entry.content, entry.until - now)
        }
    }

    func node(_ inode: UInt64, now: Duration) -> (node: Node, left: Duration)? {
        guard let (content, left) = entry(Key(inode: inode), now: now), case .node(let node) = content else {
            return nil
        }
        return (node, left)
    }

    func document(_ inode: UInt64, reader: Int32, now: Duration) -> Document? {
        guard case .document(let document)? = entry(Key(inode: inode, reader: reader), now: now)?.content else {
            return nil
        }
        return document
    }

    /// The value node kept for `inode`, for an OPEN. With `once`, a node answers one OPEN only (it
    /// stays for the GETATTRs of that open): the next open must resolve, and so read the store, again.
    func nodeForOpen(_ inode: UInt64, now: Duration, once: Bool) -> Node? {
        state.withLock { state in
            let key = Key(inode: inode)
            guard var entry = state.entries[key], entry.until > now, case .node(let node) = entry.content else {
                return nil
            }
            if once {
                guard !entry.opened else { return nil }
                entry.opened = true
                state.entries[key] = entry
            }
            return node
        }
    }

    /// Keeps `content` until `until`, unless `key`'s inode was invalidated since `generation` was
    /// read; returns whether it did. `now` lets a full cache drop what has expired first. `opened`:
    /// an OPEN resolved it, and has taken it already (see `nodeForOpen`).
    @discardableResult
    func store(
        _ key: Key, _ content: Content, until: Duration, now: Duration = .zero, resolvedAt generation: UInt64,
        opened: Bool = false
    ) -> Bool {
        state.withLock { state in
            guard state.clearedAt <= generation, (state.invalidated[key.inode] ?? 0) <= generation else {
                return false
            }
            if state.entries.count >= Self.limit { state.entries = state.entries.filter { $0.value.until > now } }
            if state.entries.count >= Self.limit { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = Entry(content: content, until: until, opened: opened)
            return true
        }
    }

    /// Drops what is kept for these inodes, for every reader.
    func invalidate(_ inodes: some Sequence<UInt64>) {
        let inodes = Set(inodes)
        guard !inodes.isEmpty else { return }
        state.withLock { state in
            state.generation &+= 1
            if state.invalidated.count + inodes.count > Self.limit {
                // Forgetting which inodes were invalidated must not let an old value in: count it
                // as an invalidation of everything.
                state.invalidated.removeAll(keepingCapacity: true)
                state.clearedAt = state.generation
            }
            for inode in inodes { state.invalidated[inode] = state.generation }
            state.entries = state.entries.filter { !inodes.contains($0.key.inode) }
        }
    }

    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.clearedAt = state.generation
            state.invalidated.removeAll(keepingCapacity: true)
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
