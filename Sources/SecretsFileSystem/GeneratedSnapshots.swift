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
///
/// As in `HotNodes`, bytes made before a `removeAll` (a rotation) are never kept after it.
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

    private struct State {
        var snapshots: [Key: Snapshot] = [:]
        var generation: UInt64 = 0
    }

    static let lifetime: Duration = .seconds(1)
    private let state = Mutex(State())

    /// Taken before making a snapshot, and handed back to `store`.
    var generation: UInt64 { state.withLock { $0.generation } }

    func recent(inode: UInt64, pid: Int32, now: Duration) -> Snapshot? {
        state.withLock { state in
            guard let snapshot = state.snapshots[Key(inode: inode, pid: pid)], now - snapshot.at < Self.lifetime
            else {
                return nil
            }
            return snapshot
        }
    }

    /// The snapshot of these bytes, kept for the next ask unless a `removeAll` came after `generation`.
    func store(
        inode: UInt64, pid: Int32, bytes: SecretValue, made: Date, now: Duration, madeAt generation: UInt64
    ) -> Snapshot {
        let snapshot = Snapshot(bytes: bytes, made: made, at: now)
        state.withLock { state in
            guard state.generation == generation else { return }
            state.snapshots = state.snapshots.filter { now - $0.value.at < Self.lifetime }
            state.snapshots[Key(inode: inode, pid: pid)] = snapshot
        }
        return snapshot
    }

    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.snapshots.removeAll()
        }
    }
}
