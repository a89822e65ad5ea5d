import ArgumentParser
import Logging
import SecretsCore
import ServiceLifecycle

/// What a backend module says of itself, as rclone's `fs.RegInfo`: the names `--backend` takes for it,
/// its flags and the marks the daemon needs (files it reads, variables that hold credentials), and how
/// to connect. The command line's registry lists each module once; its option table, help, config
/// keys, `-o` names, the store factory and the supervisor's lists read it from there.
public protocol Backend {
    /// Its flags as the argument parser reads them: one property per entry of `options`, in that order
    /// (a test checks both), each taking its name and help from its `OptionSpec`.
    associatedtype Flags: ParsableArguments & Sendable

    /// The names `--backend` takes for it: `aws` and `ssm` are one module, two stores.
    static var kinds: [String] { get }
    /// The heading its flags are shown under (`secretsfs help backends`).
    static var heading: String { get }
    static var options: [OptionSpec] { get }
    /// Variables its credential chain reads a secret from, beside its options' (`credentialInEnvironment`).
    static var credentialVariables: [String] { get }

    /// The store `kind` names, connected (credentials checked), and what must run beside it.
    static func connect(_ kind: String, flags: Flags, context: BackendContext) async throws -> ConnectedBackend
}

extension Backend {
    public static var credentialVariables: [String] { [] }
}

/// What every backend is connected with, beside its own flags.
public struct BackendContext: Sendable {
    public var environment: [String: String]
    public var homeDirectory: String
    public var logger: Logger
    /// What the HTTP backends time their deadlines, retries, renewal and refresh on.
    public var clock: any TimeSource
    /// `--backend-timeout`: the deadline of one backend call; nil for `BackendTimeout.standard`.
    public var timeout: Duration?
    /// A worker replacing another: a backend that cannot be reached is not fatal, the cache it
    /// inherited serves until the backend answers.
    public var startUnreachable: Bool
    /// The config file's sections a backend may serve (`certificates:`, `leases:`), each as its request
    /// type; a backend takes the ones it knows.
    public var declared: [any Sendable]

    public init(
        environment: [String: String], homeDirectory: String, logger: Logger,
        clock: any TimeSource = SystemTimeSource(), timeout: Duration? = nil, startUnreachable: Bool = false,
        declared: [any Sendable] = []
    ) {
        self.environment = environment
        self.homeDirectory = homeDirectory
        self.logger = logger
        self.clock = clock
        self.timeout = timeout
        self.startUnreachable = startUnreachable
        self.declared = declared
    }
}

/// A connected store and the services that must run beside it for as long as it serves (token
/// renewal, credential refresh, certificate renewal); a mount runs them in its `ServiceGroup`, so they
/// stop on graceful shutdown.
public struct ConnectedBackend: Sendable {
    public var store: any SecretStore
    public var services: @Sendable (CacheHooks) -> [any Service]
    /// The folders of `certificates:` the store issues, when it has any.
    public var certificates: MadeFolders<CertificateStatus>?
    /// The credentials of `leases:` the store makes, when it has any.
    public var leases: (any LeaseHolder)?
    /// Sets the store's own rotation schedule of a secret (`put --rotate-every`), where the store has one:
    /// the path, how often, and the function that rotates.
    public var scheduleRotation: (@Sendable (SecretPath, Duration, String) async throws -> Void)?

    public init(
        store: any SecretStore, services: @escaping @Sendable (CacheHooks) -> [any Service] = { _ in [] },
        certificates: MadeFolders<CertificateStatus>? = nil, leases: (any LeaseHolder)? = nil,
        scheduleRotation: (@Sendable (SecretPath, Duration, String) async throws -> Void)? = nil
    ) {
        self.store = store
        self.services = services
        self.certificates = certificates
        self.leases = leases
        self.scheduleRotation = scheduleRotation
    }
}

/// Folders a store makes rather than reads, and what `.status` shows of each.
public struct MadeFolders<Status: Sendable>: Sendable {
    public var paths: [SecretPath]
    public var statuses: @Sendable () async -> [Status]

    public init(paths: [SecretPath], statuses: @escaping @Sendable () async -> [Status]) {
        self.paths = paths
        self.statuses = statuses
    }
}

/// A store's leased credentials (`leases:`) as the mount keeps them across workers.
public protocol LeaseHolder: Sendable {
    /// The folders the credentials are shown in.
    var leaseFolders: [SecretPath] { get }
    /// What `.status` shows of each lease.
    func statuses() async -> [LeaseStatus]
    /// Takes over the leases an earlier worker made, from their journal; before renewal starts and the first read.
    func attach(_ journal: any LeaseJournal) async
    /// Leaves the leases to the next worker, which attaches the journal.
    func handOver() async
    /// Revokes every lease held: the mount stops.
    func revokeAll() async
}

/// How a backend's service reaches the cache in front of its store.
public struct CacheHooks: Sendable {
    /// Makes `path` anew through the cache (a certificate re-issued, a credential replaced), so the new
    /// one replaces what it holds and its change events are raised, as for a rotation.
    public var replace: @Sendable (SecretPath) async throws -> Void
    /// Forgets what the cache holds for `path`.
    public var invalidate: @Sendable (SecretPath) async -> Void

    public init(
        replace: @escaping @Sendable (SecretPath) async throws -> Void,
        invalidate: @escaping @Sendable (SecretPath) async -> Void
    ) {
        self.replace = replace
        self.invalidate = invalidate
    }
}

extension OptionSpec {
    /// The values given for `specs` in `flags`, by option name: each property of a backend's `Flags` is
    /// its spec's, in order. Values of other types (a number, a choice) are not files or credentials,
    /// which is what these are read for, and are left out.
    public static func givenValues(of flags: some ParsableArguments, _ specs: [OptionSpec]) -> [String: [String]] {
        var values: [String: [String]] = [:]
        for (spec, child) in zip(specs, Mirror(reflecting: flags).children) {
            switch child.value {
            case let option as Option<String?>: values[spec.name] = option.wrappedValue.map { [$0] } ?? []
            case let option as Option<[String]>: values[spec.name] = option.wrappedValue
            case let flag as Flag<Bool>: values[spec.name] = flag.wrappedValue ? ["true"] : []
            default: continue
            }
        }
        return values
    }
}
