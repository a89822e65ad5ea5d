import SecretsCore

/// The one judge of DESIGN §10: every node is judged by the secrets and fields it can reveal
/// (`NodeKey.revealed`), so
/// `db/password`, `.versions/db/3/password`, `.versions/db/current/password`, a rendered file made
/// from it, its name in a listing, its xattrs and its `.events` lines get the same answer from the
/// policy, and the same owner and mode from `permissions:`. Nothing else decides either.
struct Judge: Sendable {
    let policy: AccessPolicy?
    let permissions: PermissionRules
    let rendered: RenderedFiles

    init(_ options: FileSystemOptions) {
        policy = options.policy
        permissions = options.permissions
        rendered = options.rendered
    }

    /// What a rendered file shows besides its own path: every secret its template reads. The list
    /// the file keeps, so judging an open allocates nothing.
    private func inputs(_ key: NodeKey) -> [SecretPath] {
        guard case .rendered(let path) = key else { return [] }
        return rendered.file(at: path)?.inputPaths ?? []
    }

    /// The first path `key` reveals that the policy refuses `caller`; nil when it may be read
    /// (or no policy, or no caller to judge).
    func refusal(_ key: NodeKey, _ caller: Caller?) -> SecretPath? {
        guard let caller, let policy, let path = key.revealed else { return nil }
        return refusal(key, path, policy, caller)
    }

    private func refusal(_ key: NodeKey, _ path: SecretPath, _ policy: AccessPolicy, _ caller: Caller) -> SecretPath? {
        if !policy.allows(path, caller) { return path }
        return inputs(key).first { !policy.allows($0, caller) }
    }

    /// Whether a listing shows `key` to `caller`: a file when every path it reveals may be read, a
    /// folder when the policy lets the caller read something below it. A name whose type is not
    /// known yet (not cached) may be either.
    func shows(_ key: NodeKey, type: NodeType, to caller: Caller?) -> Bool {
        guard let caller, let policy, let path = key.revealed else { return true }
        switch type {
        case .directory: return policy.mayAllowBelow(path, caller)
        case .unknown: return refusal(key, path, policy, caller) == nil || policy.mayAllowBelow(path, caller)
        default: return refusal(key, path, policy, caller) == nil
        }
    }

    /// Whether a line naming `path` (an `.events` line, a `.status` error) may be shown to `caller`:
    /// as its name would be in a listing.
    func showsName(_ path: SecretPath, to caller: Caller?) -> Bool {
        shows(.path(path), type: .unknown, to: caller)
    }

    /// The owner and mode `permissions:` gives the file `key` stands for; nil for nodes it does not
    /// cover (folders, generated files and rendered files, which have their own).
    func ownership(_ key: NodeKey, defaults: Ownership) -> Ownership? {
        if case .rendered = key { return nil }
        guard !permissions.isEmpty, let path = key.revealed else { return nil }
        return permissions.file(path, defaults: defaults)
    }
}
