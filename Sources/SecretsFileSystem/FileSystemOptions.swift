import SecretsCore

/// How the mount presents itself: owners, modes, and how much the kernel may cache.
public struct FileSystemOptions: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var fileMode: UInt16
    public var dirMode: UInt16
    /// Every open and read reaches the daemon; nothing is kept in the page cache.
    public var directIO: Bool
    /// With per-open checks, keep values in the page cache between opens anyway: every open still
    /// reaches the daemon and is checked and recorded, and reads through a descriptor that open
    /// gave come from the cache. Off by default, as DESIGN.md §1.1 asks.
    public var keepPagesWithChecks: Bool = false
    /// How long the kernel may keep names and attributes of secrets. The daemon invalidates them
    /// when a value changes or its TTL ends, so this can be long.
    public var kernelCacheTimeout: Double
    /// Makes the values of rotations.
    public var generator: PasswordGenerator
    /// Who may open what; nil lets the kernel's mode checks alone decide.
    public var policy: AccessPolicy?
    /// Where a line per open and per rotation goes; nil for none.
    public var audit: (any AuditSink)?
    /// How the caller's executable and groups are found.
    public var callers: any CallerResolver

    /// Policy and audit need every open to reach the daemon.
    public var perOpenChecks: Bool { policy != nil || audit != nil }
    /// Whether any policy rule names groups, so callers' supplementary groups must be read.
    public var policyNamesGroups: Bool { policy?.rules.contains { !$0.gids.isEmpty } ?? false }

    /// Whether reads bypass the page cache: `--direct-io`, or per-open checks unless
    /// `keepPagesWithChecks`. With no caching at all there is nothing to tell the kernel when a
    /// value changes, so it must keep nothing either.
    public var bypassPageCache: Bool {
        directIO || (perOpenChecks && !keepPagesWithChecks) || kernelCacheTimeout == 0
    }
    /// Whether the kernel may open files without asking the daemon: only when nobody needs to
    /// see each open.
    public var opensStayInKernel: Bool { !bypassPageCache && !perOpenChecks }

    public init(
        uid: UInt32,
        gid: UInt32,
        fileMode: UInt16 = 0o400,
        dirMode: UInt16 = 0o500,
        directIO: Bool = false,
        kernelCacheTimeout: Double = 300,
        generator: PasswordGenerator = PasswordGenerator(),
        policy: AccessPolicy? = nil,
        audit: (any AuditSink)? = nil,
        callers: any CallerResolver = ProcCallerResolver()
    ) {
        self.uid = uid
        self.gid = gid
        self.fileMode = fileMode
        self.dirMode = dirMode
        self.directIO = directIO
        self.kernelCacheTimeout = kernelCacheTimeout
        self.generator = generator
        self.policy = policy
        self.audit = audit
        self.callers = callers
    }
}
