import SecretsCore
import Synchronization

/// The value inodes the kernel was given for each path. Two views of one record:
/// - since the path last changed, for dropping pages: a path rotated a thousand times has a thousand
///   inode numbers, and the kernel forgot most of them long ago;
/// - still held, counted by lookups and FORGETs, for telling watchers: an inode someone watches or
///   keeps open is never forgotten, so it stays here however often its path changes.
final class ShownValueInodes: Sendable {
    private struct State {
        var sinceChange: [SecretPath: Set<UInt64>] = [:]
        var held: [UInt64: (path: SecretPath, lookups: UInt64)] = [:]
    }

    private let state = Mutex(State())

    /// Called once per lookup answer that names `inode`: each one is a lookup the kernel counts.
    func shown(_ inode: UInt64, for path: SecretPath) {
        state.withLock { state in
            state.sinceChange[path, default: []].insert(inode)
            state.held[inode, default: (path, 0)].lookups += 1
        }
    }

    /// An inode the kernel may hold, from before this process: held until a FORGET says otherwise.
    func assumeHeld(_ inode: UInt64, for path: SecretPath) {
        state.withLock { state in
            if state.held[inode] == nil { state.held[inode] = (path, 1) }
        }
    }

    /// The kernel's FORGET: it dropped `lookups` of the lookups it was given for `inode`.
    func forgotten(_ inode: UInt64, lookups: UInt64) {
        state.withLock { state in
            guard let held = state.held[inode] else { return }
            if held.lookups <= lookups {
                state.held[inode] = nil
            } else {
                state.held[inode]?.lookups = held.lookups - lookups
            }
        }
    }

    /// Removes and returns the inodes shown since the last change of every path that satisfies `predicate`.
    func take(where predicate: (SecretPath) -> Bool) -> [UInt64] {
        state.withLock { state in
            let paths = state.sinceChange.keys.filter(predicate)
            return paths.flatMap { state.sinceChange.removeValue(forKey: $0) ?? [] }
        }
    }

    /// The inodes the kernel still holds for every path that satisfies `predicate`.
    func held(where predicate: (SecretPath) -> Bool) -> [UInt64] {
        state.withLock { state in state.held.compactMap { predicate($0.value.path) ? $0.key : nil }.sorted() }
    }
}
