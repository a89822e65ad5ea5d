import SecretsCore
import Synchronization

/// Value nodes resolved a moment ago, kept where a synchronous caller can reach them, so an
/// open that must reach the daemon (audit, policy, direct I/O) is answered on the FUSE thread
/// without a trip through the cache actor. Dropped whenever the cache says a value changed,
/// on every rotation, and after at most a second.
///
/// A node resolved before an invalidation must never be kept after it: a lookup resolves, a
/// rotation forgets, and only then does the lookup remember what it resolved. So every forget
/// bumps a generation, a caller reads the generation before it resolves, and `remember` keeps
/// nothing when the generation has moved since.
final class HotNodes: Sendable {
    private struct Entry {
        var node: Node
        var until: Duration
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Small: an entry serves the requests of the next moment, and a `find` over a large tree
    /// must not keep every value it passed alive here.
    private static let limit = 1_024

    /// A second, or less when the TTL itself is shorter.
    static func lifetime(_ ttlSeconds: Double) -> Duration {
        .milliseconds(Int64(min(ttlSeconds, 1) * 1000))
    }

    /// Taken before resolving a node, and handed back to `remember`.
    var generation: UInt64 { state.withLock { $0.generation } }

    func node(_ inode: UInt64, now: Duration) -> Node? {
        nodeAndTimeLeft(inode, now: now)?.node
    }

    /// The node and how much longer it may be served from here.
    func nodeAndTimeLeft(_ inode: UInt64, now: Duration) -> (node: Node, left: Duration)? {
        state.withLock { state in
            guard let entry = state.entries[inode] else { return nil }
            if entry.until <= now {
                state.entries[inode] = nil
                return nil
            }
            return (entry.node, entry.until - now)
        }
    }

    /// Keeps `node` unless something was forgotten since `generation` was read; returns whether it did.
    @discardableResult
    func remember(_ inode: UInt64, _ node: Node, until: Duration, resolvedAt generation: UInt64) -> Bool {
        state.withLock { state in
            guard state.generation == generation else { return false }
            if state.entries.count >= Self.limit { state.entries.removeAll(keepingCapacity: true) }
            state.entries[inode] = Entry(node: node, until: until)
            return true
        }
    }

    func forget(_ inode: UInt64) {
        state.withLock { state in
            state.generation &+= 1
            state.entries[inode] = nil
        }
    }

    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }
}
