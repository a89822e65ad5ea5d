import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Who may open what, from the config file. Rules are tried in order and the first whose path
/// glob matches decides; a path no rule matches is refused. `*` and `?` stay within one path
/// segment, `**` spans any number of them.
public struct AccessPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var path: String
        /// Empty means any uid.
        public var uids: [UInt32]
        /// Empty means any group; otherwise the caller's primary or a supplementary group.
        public var gids: [UInt32]
        /// Globs matched against the path of the caller's program, which counts only when the file at
        /// that path is the one it runs (`ProcCallerResolver.executable`); empty means any program.
        public var executables: [String]

        public init(path: String, uids: [UInt32] = [], gids: [UInt32] = [], executables: [String] = []) {
            self.path = path
            self.uids = uids
            self.gids = gids
            self.executables = executables
        }

        var segments: [Substring] { path.split(separator: "/") }

        func admits(_ caller: Caller) -> Bool {
            if !uids.isEmpty, !uids.contains(caller.uid) { return false }
            if !gids.isEmpty, !gids.contains(caller.gid), caller.groups.allSatisfy({ !gids.contains($0) }) {
                return false
            }
            if !executables.isEmpty {
                guard let exe = caller.executable, executables.contains(where: { Glob.matches($0, exe) }) else {
                    return false
                }
            }
            return true
        }
    }

    public var rules: [Rule]

    public init(rules: [Rule]) { self.rules = rules }

    /// Whether `caller` may read `path`.
    public func allows(_ path: SecretPath, _ caller: Caller) -> Bool {
        guard let rule = rules.first(where: { Glob.matchesPath($0.segments, path.segments[...]) }) else { return false }
        return rule.admits(caller)
    }

    /// Whether anything below `folder` might be readable by `caller`, so the folder is listed. The
    /// first matching rule decides, so a rule that admits the caller counts only if no earlier rule
    /// refusing the caller already matches everything below the folder (`db/**` for uid 0 before a
    /// `**` for everyone hides `db` from everyone else). Errs toward showing where globs overlap in
    /// ways this does not work out; a shown name never opens more than `allows` lets it.
    public func mayAllowBelow(_ folder: SecretPath, _ caller: Caller) -> Bool {
        if folder.isRoot { return true }
        let below = folder.segments[...]
        for rule in rules {
            let segments = rule.segments
            if rule.admits(caller) {
                if Glob.prefixCompatible(segments, below) { return true }
            } else if Glob.coversAllBelow(segments, below) {
                return false
            }
        }
        return false
    }
}

/// The process behind a request, resolved once per open.
public struct Caller: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var groups: [UInt32]
    public var executable: String?

    public init(uid: UInt32, gid: UInt32, pid: Int32, groups: [UInt32] = [], executable: String? = nil) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.groups = groups
        self.executable = executable
    }
}
