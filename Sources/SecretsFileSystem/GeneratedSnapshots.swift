import Foundation
import SecretsCore
import Synchronization

/// The bytes of `.status`, `.metrics` and `.rotate`, kept per reading process for a moment.
///
/// When the kernel opens files without asking the daemon, it reads these through the page cache
/// with no handle to pin a version to, and asks for their attributes again before every read. If
/// each of those asks made new bytes, one `cat` could get the start of one document and the end of
/// another. So a process that asked a moment ago gets the same bytes and the same mtime; another
/// process, or the same one a little later, gets new ones, and the new mtime tells the kernel to
/// drop the pages it holds.
final class GeneratedSnapshots: Sendable {
    struct Snapshot: Sendable {
        var bytes: SecretValue
        var made: Date
        var at: Duration
    }

    private struct Key: Hashable {
        var inode: UInt64
        var pid: Int32
    }

    static let lifetime: Duration = .seconds(1)
    private let snapshots = Mutex<[Key: Snapshot]>([:])

    func recent(inode: UInt64, pid: Int32, now: Duration) -> Snapshot? {
        snapshots.withLock { snapshots in
            guard let snapshot = snapshots[Key(inode: inode, pid: pid)], now - snapshot.at < Self.lifetime else {
                return nil
            }
            return snapshot
        }
    }

    func store(inode: UInt64, pid: Int32, bytes: SecretValue, made: Date, now: Duration) -> Snapshot {
        let snapshot = Snapshot(bytes: bytes, made: made, at: now)
        snapshots.withLock { snapshots in
            snapshots = snapshots.filter { now - $0.value.at < Self.lifetime }
            snapshots[Key(inode: inode, pid: pid)] = snapshot
        }
        return snapshot
    }

    func removeAll() { snapshots.withLock { $0.removeAll() } }
}
