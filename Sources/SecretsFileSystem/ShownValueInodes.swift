import SecretsCore
import Synchronization

/// The value inodes the kernel was given for each path since that path last changed. A change drops
/// the pages of these and no others: a path rotated a thousand times has a thousand inode numbers,
/// and the kernel forgot most of them long ago.
final class ShownValueInodes: Sendable {
    private let byPath = Mutex<[SecretPath: Set<UInt64>]>([:])

    func shown(_ inode: UInt64, for path: SecretPath) {
        _ = byPath.withLock { $0[path, default: []].insert(inode) }
    }

    /// Removes and returns the inodes of every path that satisfies `predicate`.
    func take(where predicate: (SecretPath) -> Bool) -> [UInt64] {
        byPath.withLock { byPath in
            let paths = byPath.keys.filter(predicate)
            return paths.flatMap { byPath.removeValue(forKey: $0) ?? [] }
        }
    }
}
