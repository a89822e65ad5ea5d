import Synchronization

/// Remembers what was logged, so a recurring oddity (a name that cannot be a file name, a collision
/// of names) costs one log line for the life of the process, however often a folder is listed.
public final class LogOnce: Sendable {
    private let seen = Mutex<Set<String>>([])

    public init() {}

    /// True the first time `key` is seen, false ever after: log only when it is true.
    public func first(_ key: String) -> Bool {
        seen.withLock { $0.insert(key).inserted }
    }
}
