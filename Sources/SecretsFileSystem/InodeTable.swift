import SecretsCore
import Synchronization

/// The two-way map between inode numbers and nodes. Inodes are dense from 1, so the way back is
/// an array: half the memory of a second dictionary on a mount with many secrets.
final class InodeTable: Sendable {
    static let rootInode: UInt64 = 1

    private struct State {
        var byKey: [NodeKey: UInt64] = [.path(.root): InodeTable.rootInode]
        /// `byInode[n - 1]` is the key of inode `n`.
        var byInode: [NodeKey] = [.path(.root)]
    }

    private let state = Mutex(State())
    private let journal: (any InodeJournal)?

    /// Numbers again the nodes a previous worker numbered (the kernel still holds their numbers),
    /// then records every new one in `journal`. Restoring stops at the first record that is not
    /// the next number: a later number cannot have reached the kernel without the ones before it.
    init(restoring records: [[UInt8]] = [], journal: (any InodeJournal)? = nil) {
        self.journal = journal
        state.withLock { state in
            for record in records {
                guard record.count > 8 else { break }
                let inode = record.prefix(8).enumerated().reduce(UInt64(0)) {
                    $0 | UInt64($1.element) << (8 * $1.offset)
                }
                guard inode == UInt64(state.byInode.count + 1),
                    let key = NodeKeyCodec.decode(Array(record.dropFirst(8)))
                else { break }
                state.byInode.append(key)
                state.byKey[key] = inode
            }
        }
    }

    func inode(for key: NodeKey) -> UInt64 {
        state.withLock { state in
            if let existing = state.byKey[key] { return existing }
            state.byInode.append(key)
            let inode = UInt64(state.byInode.count)
            state.byKey[key] = inode
            // Recorded before the number leaves this process, under the lock, so records stay in order.
            if let journal {
                journal.append(withUnsafeBytes(of: inode.littleEndian, Array.init) + NodeKeyCodec.encode(key))
            }
            return inode
        }
    }

    /// The inode of `key` if it has been numbered, without numbering it.
    func existingInode(for key: NodeKey) -> UInt64? {
        state.withLock { $0.byKey[key] }
    }

    func key(for inode: UInt64) -> NodeKey? {
        state.withLock { state in
            guard inode >= 1, inode <= UInt64(state.byInode.count) else { return nil }
            return state.byInode[Int(inode - 1)]
        }
    }

    /// Every numbered node whose key satisfies `predicate`, for invalidating what the kernel holds.
    func inodes(where predicate: (NodeKey) -> Bool) -> [(NodeKey, UInt64)] {
        state.withLock { state in
            state.byInode.enumerated().compactMap { predicate($1) ? ($1, UInt64($0 + 1)) : nil }
        }
    }

    var count: Int { state.withLock { $0.byInode.count } }
}
