import SecretsCore

/// How the mount presents itself: owners, modes, and how much the kernel may cache.
public struct FileSystemOptions: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var fileMode: UInt16
    public var dirMode: UInt16
    /// Every open and read reaches the daemon; nothing is kept in the page cache.
    public var directIO: Bool
    /// Whether folders list their `.versions` (DESIGN §1.4: hidden by default, as ZFS hides `.zfs`,
    /// so `cp -a`, `rsync`, `tar` and `find` do not walk the history; it opens by name either way).
    public var showVersions: Bool = false
    /// How long the kernel may keep names and attributes of secrets. The daemon invalidates them
    /// when a value changes or its TTL ends, so this can be long.
    public var kernelCacheTimeout: Double
    /// Makes the values of rotations.
    public var generator: PasswordGenerator
    /// Who may open what; nil lets the kernel's mode checks alone decide.
    public var policy: AccessPolicy?
    /// The files of `files:`, made from secrets by templates.
    public var rendered: RenderedFiles = .none
    /// The folders of `certificates:`, whose files a store issues.
    public var certificates: CertificateFolders = .none
    /// The folders of `leases:`, whose credentials a store makes and renews.
    public var leases: LeaseFolders = .none
    /// Owner and mode per path glob (`permissions:`); the fields above are the defaults.
    public var permissions: PermissionRules = .none
    /// `.events` streams (`--events`): each needs its own open, so every open reaches the daemon.
    public var events = false
    /// Where a line per open and per rotation goes; nil for none.
    public var audit: (any AuditSink)?
    /// The counts of the `on_change` actions, for `.status` and `.metrics`; nil when there are none.
    public var actions: ChangeActionTally?
    /// How the caller's executable and groups are found.
    public var callers: any CallerResolver

    /// Policy and audit need every open to reach the daemon, with the caller who made it.
    public var checksEveryOpen: Bool { policy != nil || audit != nil }
    /// Whether any policy rule names groups, so callers' supplementary groups must be read.
    public var policyNamesGroups: Bool { policy?.rules.contains { !$0.gids.isEmpty } ?? false }
    /// Whether any policy rule names programs, so callers' executables must be found and proved.
    public var policyNamesPrograms: Bool { policy?.rules.contains { !$0.executables.isEmpty } ?? false }

    /// What reaches the daemon, decided once from the flags: see `CachingMode`.
    public var caching: CachingMode {
        // With no caching at all there is nothing to tell the kernel when a value changes, so it
        // must keep nothing either.
        if directIO || kernelCacheTimeout == 0 { return .direct }
        if checksEveryOpen || events { return .checkedOpens }
        return .kernelOpens
    }

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

/// How much the kernel keeps, from most to least.
public enum CachingMode: Sendable, Equatable {
    /// Nobody needs to see each open: the FUSE layer answers OPEN with ENOSYS once, the kernel opens
    /// files without asking from then on, and reads come from its page cache until the daemon
    /// invalidates them.
    case kernelOpens
    /// Policy or audit: every open reaches the daemon (DESIGN §1.1: every open is checked and
    /// recorded, and a read needs the descriptor a checked open gave), but the pages of a value are
    /// kept between opens: a changed value is another inode.
    case checkedOpens
    /// `--direct-io`, or no caching at all: every open and read reaches the daemon, no pages are kept.
    case direct
}
