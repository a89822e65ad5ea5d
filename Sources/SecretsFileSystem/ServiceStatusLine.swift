import SecretsCore

extension SecretsFileSystem {
    /// One line for `systemctl status` (systemd's `STATUS=`, sent by the supervisor): the backend,
    /// the reads served and the kind of the last error. Figures and kinds only, never a path or a
    /// value: the line lands in the journal, which more people read than `.status`.
    public func serviceStatus() async -> String {
        let stats = await store.statistics()
        let errors = stats.errorsByKind.values.reduce(0, +)
        let last = stats.recentErrors.last.map { ", last error: \($0.kind)" } ?? ""
        return "serving from \(store.descriptor.backend): \(stats.hits + stats.misses) secrets served, "
            + "\(stats.entries) cached, \(errors) errors\(last)"
    }
}
