import Synchronization

/// The kernel's requests this worker was sent, by operation, for `.metrics`: what a walk or a
/// reader costs the daemon (a `ls -l` answered by READDIRPLUS sends no LOOKUP per name).
public final class RequestTally: Sendable {
    /// Numbered from 0 in declaration order: a request's count is one index, counted on every request.
    public enum Operation: Int, CaseIterable, Sendable {
        case lookup, forget, getattr, setattr, readlink, open, read, poll, write, release
        case opendir, readdir, readdirplus, releasedir, statfs, getxattr, listxattr
        /// Python's buffered `open` asks `isatty` (TCGETS) of every file it opens: one IOCTL each.
        case ioctl
        /// FLUSH, FSYNC, FSYNCDIR, LSEEK and ACCESS: answered ENOSYS, which the kernel remembers for
        /// the connection, so each is counted at most once or so a mount.
        case declined
        /// Requests to change the tree (mkdir, unlink, rename, ...), all refused alike.
        case change

        /// The label in `.metrics`.
        public var name: String { String(describing: self) }
    }

    private let counts = Mutex([Int](repeating: 0, count: Operation.allCases.count))
    public init() {}

    public func count(_ operation: Operation) {
        counts.withLock { $0[operation.rawValue] += 1 }
    }

    /// Every operation with its count, in declaration order.
    var all: [(Operation, Int)] {
        let counts = self.counts.withLock { $0 }
        return Array(zip(Operation.allCases, counts))
    }
}
