import SecretsCore
import Synchronization

/// Value nodes resolved a moment ago, kept where a synchronous caller can reach them, so an
/// open that must reach the daemon (audit, policy, direct I/O) is answered on the FUSE thread
/// without a trip through the cache actor. Dropped whenever the cache says a value changed,
/// on every rotation, and after at most a second.
final class HotNodes: Sendable {
    private struct Entry {
        var node: Node
        var until: Duration
    }

    private let entries = Mutex<[UInt64: Entry]>([:])
    /// Small: an entry serves the requests of the next moment, and a `find` over a large tree
    /// must not keep every value it passed alive here.
    private static let limit = 1_024

    /// A second, or less when the TTL itself is shorter.
    static func lifetime(_ ttlSeconds: Double) -> Duration {
        .milliseconds(Int64(min(ttlSeconds, 1) * 1000))
    }

    func node(_ inode: UInt64, now: Duration) -> Node? {
        nodeAndTimeLeft(inode, now: now)?.node
    }

    /// The node and how much longer it may be served from here.
    func nodeAndTimeLeft(_ inode: UInt64, now: Duration) -> (node: Node, left: Duration)? {
        entries.withLock { entries in
            guard let entry = entries[inode] else { return nil }
            if entry.until <= now {
                entries[inode] = nil
                return nil
            }
            return (entry.node, entry.until - now)
        }
    }

    func remember(_ inode: UInt64, _ node: Node, until: Duration) {
        entries.withLock { entries in
            if entries.count >= Self.limit { entries.removeAll(keepingCapacity: true) }
            entries[inode] = Entry(node: node, until: until)
        }
    }

    func forget(_ inode: UInt64) { _ = entries.withLock { $0.removeValue(forKey: inode) } }

    func removeAll() { entries.withLock { $0.removeAll() } }
}
