import Synchronization

/// The kernel's requests this worker was sent, by operation, for `.metrics`: what a walk or a
/// reader costs the daemon (a `ls -l` answered by READDIRPLUS sends no LOOKUP per name).
public final class RequestTally: Sendable {
    public enum Operation: String, CaseIterable, Sendable {
        case lookup, forget, getattr, setattr, readlink, open, read, poll, write, release
        case opendir, readdir, readdirplus, releasedir, statfs, getxattr, listxattr
        /// Requests to change the tree (mkdir, unlink, rename, ...), all refused alike.
        case change
    }

    private let counts = Mutex([Int](repeating: 0, count: Operation.allCases.count))
    private static let index = Dictionary(uniqueKeysWithValues: Operation.allCases.enumerated().map { ($1, $0) })

    public init() {}

    public func count(_ operation: Operation) {
        let index = Self.index[operation]!
        counts.withLock { $0[index] += 1 }
    }

    /// Every operation with its count, in declaration order.
    var all: [(Operation, Int)] {
        let counts = self.counts.withLock { $0 }
        return Array(zip(Operation.allCases, counts))
    }
}
