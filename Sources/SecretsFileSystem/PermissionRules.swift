import SecretsCore

/// Owner and mode per path glob, from `permissions:` in the config. The first rule whose glob
/// matches a file decides what it sets; what it leaves unset, and files no rule matches, keep the
/// mount's defaults (`--uid`, `--gid`, `--file-mode`). A rendered file's own owner and mode win.
public struct PermissionRules: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// Globs as the policy's: `*` and `?` within a segment, `**` any number of segments.
        public var paths: [String]
        public var mode: UInt16?
        public var uid: UInt32?
        public var gid: UInt32?

        public init(paths: [String], mode: UInt16? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
            self.paths = paths
            self.mode = mode
            self.uid = uid
            self.gid = gid
        }

        func matches(_ path: SecretPath) -> Bool {
            paths.contains { Glob.matchesPath($0.split(separator: "/"), path.segments[...]) }
        }

        func mayMatchBelow(_ folder: SecretPath) -> Bool {
            paths.contains { Glob.prefixCompatible($0.split(separator: "/"), folder.segments[...]) }
        }
    }

    public var rules: [Rule]

    public static let none = PermissionRules(rules: [])

    public init(rules: [Rule]) { self.rules = rules }

    public var isEmpty: Bool { rules.isEmpty }

    /// Owner and mode of the file at `path`, starting from the mount's defaults.
    func file(_ path: SecretPath, defaults: Ownership) -> Ownership {
        guard let rule = rules.first(where: { $0.matches(path) }) else { return defaults }
        return Ownership(mode: rule.mode ?? defaults.mode, uid: rule.uid ?? defaults.uid, gid: rule.gid ?? defaults.gid)
    }

    /// The search and list bits a folder must add so that each reader a rule (or a rendered file)
    /// gives a file below it can reach that file: a file's owner or group reaches it through the
    /// folder's owner or group bits when the folder has the same one, else through its other bits
    /// (which file's owner belongs to the folder's group is not known here).
    static func folderBits(for files: [Ownership], folder: Ownership) -> UInt16 {
        var bits: UInt16 = 0
        for file in files {
            if file.mode & 0o400 != 0 {
                bits |= file.uid == folder.uid ? 0o500 : 0o005
            }
            if file.mode & 0o040 != 0 { bits |= file.gid == folder.gid ? 0o050 : 0o005 }
            if file.mode & 0o004 != 0 { bits |= 0o005 }
        }
        return bits
    }

    /// The owners and modes rules may give files below `folder`, for `folderBits`.
    func ownershipsBelow(_ folder: SecretPath, defaults: Ownership) -> [Ownership] {
        rules.filter { $0.mayMatchBelow(folder) }.map {
            Ownership(mode: $0.mode ?? defaults.mode, uid: $0.uid ?? defaults.uid, gid: $0.gid ?? defaults.gid)
        }
    }
}

/// A node's owner and permission bits.
struct Ownership: Sendable, Equatable {
    var mode: UInt16
    var uid: UInt32
    var gid: UInt32
}
