import ArgumentParser
import SecretsBackendAWS
import SecretsBackendVault
import SecretsCore

/// One option that every subcommand (`BackendOptions`) or `mount` takes. Its name is the long flag, the
/// config file's key and the mount helper's `-o` key alike; `environment` lists the variables that
/// stand in for it, in the order they are tried, when the flag is absent. The argument parser's
/// property for the option takes its name and help from here, and the config file and `-o` read
/// their keys and kinds from here, so an option is added in one place (a test checks that the parser
/// and this table agree on every flag).
///
/// Not swift-configuration's `ConfigReader`: its YAML provider refuses the file's `policy:` list of
/// mappings and drops the line of each key that our errors name instead of the value, and its
/// conversions would be a second parser of each value beside the argument parser, which also checks
/// a config file's values (`ConfigValueCheck`).
struct OptionSpec: Sendable, Hashable {
    enum Kind: Sendable {
        /// `--name VALUE`; in the file, a scalar.
        case value
        /// `--name VALUE`, repeatable; in the file, a value or a list of values.
        case list
        /// `--name` alone; in the file, `true` or `false`.
        case flag
    }

    enum Scope: Sendable {
        case everyCommand
        case mountOnly
    }

    let name: String
    let environment: [String]
    let kind: Kind
    let scope: Scope
    /// Whether a config file may hold it: `--config` names the file itself.
    let inConfigFile: Bool
    /// Tuning a first reader does not need: left out of `--help`, shown by `--help-hidden`.
    let folded: Bool
    /// What `--help` says; the variables, `defaultText` and `note` follow in parentheses.
    private let summary: String
    /// The default as a user would type it, read off the value the option defaults to; only for an
    /// option whose property has none, since the parser prints a property's own default itself.
    private let defaultText: String?
    private let note: String?
    /// Words for the variables where "env: NAME" would mislead.
    private let environmentText: String?

    init(
        _ name: String, _ kind: Kind = .value, _ scope: Scope = .everyCommand, environment: [String] = [],
        inConfigFile: Bool = true, folded: Bool = false, help summary: String, defaultText: String? = nil,
        note: String? = nil, environmentText: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.scope = scope
        self.environment = environment
        self.inConfigFile = inConfigFile
        self.folded = folded
        self.summary = summary
        self.defaultText = defaultText
        self.note = note
        self.environmentText = environmentText
    }

    /// As typed on the command line: `--cache-ttl`, `-o`.
    var flag: String { name.count == 1 ? "-\(name)" : "--\(name)" }

    var help: ArgumentHelp {
        var notes: [String] = []
        if let environmentText {
            notes.append(environmentText)
        } else if !environment.isEmpty {
            notes.append("env: " + environment.joined(separator: ", "))
        }
        if let defaultText { notes.append("default " + defaultText) }
        if let note { notes.append(note) }
        return ArgumentHelp(
            notes.isEmpty ? summary + "." : "\(summary) (\(notes.joined(separator: "; "))).",
            visibility: folded ? FoldedHelp.visibility : .default)
    }

    /// The first of its variables that is set (even to nothing), as the config file yields to it.
    func value(in environment: [String: String]) -> String? {
        self.environment.lazy.compactMap { environment[$0] }.first
    }

    /// The option `key` (a flag's name, without dashes), if it is one of the table's.
    static func named(_ key: String) -> OptionSpec? { byName[key] }

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}

extension NameSpecification {
    static func option(_ spec: OptionSpec) -> NameSpecification {
        spec.name.count == 1 ? .customShort(Character(spec.name)) : .customLong(spec.name)
    }
}

extension ArgumentHelp {
    static func option(_ spec: OptionSpec) -> ArgumentHelp { spec.help }
}

// MARK: - The table

extension OptionSpec {
    static let all: [OptionSpec] = backend + mount

    // Every subcommand's, as `BackendOptions` holds them (DESIGN section 2).
    static let backend: [OptionSpec] = [
        config, backendKind, store, storeKeyFile, envPrefix, envInclude, vaultAddr, vaultTokenFile, vaultNamespace,
        vaultMount, vaultKVVersion,
        vaultPrefix, vaultAuth, vaultRoleID, vaultSecretIDFile, vaultRole, vaultJWTFile, vaultAuthMount, vaultCACert,
        vaultSkipVerify, awsRegion, awsEndpoint, awsProfile, awsPrefix, ssmPrefix, jsonFields, backendTimeout, logLevel,
        logFormat,
    ]

    static let config = OptionSpec(
        "config", environment: ["SECRETSFS_CONFIG"], inConfigFile: false,
        help: "YAML file whose keys are these flags' names", note: "flags and environment win")
    static let backendKind = OptionSpec(
        "backend", environment: ["SECRETSFS_BACKEND"], help: "Backend",
        defaultText: BackendKind.local.rawValue, note: "each one's flags: secretsfs help backends")
    static let store = OptionSpec(
        "store", environment: ["SECRETSFS_STORE"], help: "Local store file",
        defaultText: "$XDG_DATA_HOME/secretsfs/secrets.db")
    static let storeKeyFile = OptionSpec(
        "store-key-file", environment: ["SECRETSFS_STORE_KEY_FILE"],
        help: "File holding the 32-byte key that encrypts the local store's values (raw, base64 or hex)")
    static let envPrefix = OptionSpec("env-prefix", help: "env: only variables with this prefix are shown")
    static let envInclude = OptionSpec(
        "env-include", .list, help: "env: also show variables matching this glob (repeatable)")
    static let vaultAddr = OptionSpec(
        "vault-addr", .list, environment: VaultOptions.Environment.address,
        help: "Vault address; an HA cluster's nodes comma-separated or repeated, tried in order")
    static let vaultTokenFile = OptionSpec(
        "vault-token-file", environment: VaultOptions.Environment.token, help: "File holding the Vault token",
        environmentText: "else \(VaultOptions.Environment.token.joined(separator: ", ")), else ~/.vault-token")
    static let vaultNamespace = OptionSpec(
        "vault-namespace", environment: VaultOptions.Environment.namespace, help: "Vault namespace")
    static let vaultMount = OptionSpec("vault-mount", help: "KV v2 mount", defaultText: VaultOptions.defaultMount)
    static let vaultKVVersion = OptionSpec(
        "vault-kv-version", help: "KV engine version of the mount, 1 or 2", defaultText: "asked of Vault")
    static let vaultPrefix = OptionSpec("vault-prefix", help: "Sub-path of the KV mount shown at the root")
    static let vaultAuth = OptionSpec("vault-auth", help: "Vault auth: token, approle, jwt or kubernetes")
    static let vaultRoleID = OptionSpec("vault-role-id", help: "AppRole role id")
    static let vaultSecretIDFile = OptionSpec("vault-secret-id-file", help: "File holding the AppRole secret id")
    static let vaultRole = OptionSpec("vault-role", help: "Role for jwt and kubernetes auth")
    static let vaultJWTFile = OptionSpec(
        "vault-jwt-file", help: "File holding the JWT (kubernetes: the service-account token)")
    static let vaultAuthMount = OptionSpec("vault-auth-mount", help: "Mount path of the auth method")
    static let vaultCACert = OptionSpec(
        "vault-cacert", environment: VaultOptions.Environment.caCertFile, help: "CA certificate file for Vault's TLS")
    static let vaultSkipVerify = OptionSpec(
        "vault-skip-verify", .flag, environment: VaultOptions.Environment.skipVerify,
        help: "Do not verify Vault's TLS certificate")
    static let awsRegion = OptionSpec("aws-region", environment: AWSOptions.Environment.region, help: "AWS region")
    static let awsEndpoint = OptionSpec(
        "aws-endpoint", environment: AWSOptions.Environment.endpoint,
        help: "Secrets Manager or SSM endpoint", note: "ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL")
    static let awsProfile = OptionSpec(
        "aws-profile", environment: AWSOptions.Environment.profile, help: "Shared config profile")
    static let awsPrefix = OptionSpec("aws-prefix", help: "Name prefix shown at the root")
    static let ssmPrefix = OptionSpec("ssm-prefix", help: "ssm: parameter path shown at the root")
    static let jsonFields = OptionSpec(
        "json-fields", help: "raw: a JSON SecretString is one file; expand: a folder of fields")
    static let backendTimeout = OptionSpec(
        "backend-timeout", folded: true, help: "Deadline of each backend call",
        defaultText: typed(BackendTimeout.standard))
    static let logLevel = OptionSpec(
        "log-level", help: "Least level logged", note: "default error; mount: info")
    static let logFormat = OptionSpec("log-format", folded: true, help: "Log line format")

    // `mount`'s own, as `MountCommand` holds them.
    static let mount: [OptionSpec] = [
        cacheTTL, refreshJitter, refreshInterval, prefetch, maxStale, negativeTTL, cacheMaxEntries, cacheFile,
        cacheKeyFile,
        directIO, keepPages,
        events, showVersions, busyPoll, workerTimeout,
        uid, gid,
        fileMode, dirMode, allowOther, nonEmpty, rotationLength, auditLog, auditOwner, mlock, daemon, logFile,
        kernelOptions,
    ]

    static let cacheTTL = OptionSpec(
        "cache-ttl", .value, .mountOnly, help: "How long a value is fresh", note: "0 turns caching off")
    static let refreshJitter = OptionSpec(
        "refresh-jitter", .value, .mountOnly, folded: true,
        help: "Part of the TTL by which answers end early, spread so a fleet does not refresh in step",
        note: "0 off")
    static let refreshInterval = OptionSpec(
        "refresh-interval", .value, .mountOnly, folded: true,
        help: "How often cached values are checked against the listing of versions (aws, ssm) or prefetched ones read",
        defaultText: "the TTL", note: "at most 3/4 of the shortest lifetime")
    static let prefetch = OptionSpec(
        "prefetch", .list, .mountOnly,
        help: "Read every secret matching this path glob into the cache before the mount is ready (repeatable)")
    static let maxStale = OptionSpec(
        "max-stale", .value, .mountOnly, help: "How long past its TTL a value is served when the backend fails",
        note: "0 off")
    static let negativeTTL = OptionSpec(
        "negative-ttl", .value, .mountOnly, folded: true,
        help: "How long a missing secret, or at TTL 0 a folder seen, is remembered")
    static let cacheMaxEntries = OptionSpec(
        "cache-max-entries", .value, .mountOnly, folded: true, help: "Most entries kept in the cache")
    static let cacheFile = OptionSpec(
        "cache-file", .value, .mountOnly, folded: true,
        help: "Keep the cache's answers sealed in this file, so a mount started while the backend is down serves them",
        note: "needs --cache-key-file")
    static let cacheKeyFile = OptionSpec(
        "cache-key-file", .value, .mountOnly, folded: true,
        help: "File holding the 32-byte key that seals --cache-file (raw, base64 or hex)",
        environmentText: "else the systemd credential cache-key-file")
    static let directIO = OptionSpec(
        "direct-io", .flag, .mountOnly, folded: true,
        help: "Every open and read reaches the daemon; nothing stays in the page cache")
    static let keepPages = OptionSpec(
        "keep-pages", .flag, .mountOnly, folded: true,
        help: "Accepted and ignored: values stay in the page cache in every mode but --direct-io")
    static let events = OptionSpec(
        "events", .flag, .mountOnly, folded: true,
        help: "Serve .events streams of changes; every open then reaches the daemon (about 25 µs instead of 5)")
    static let showVersions = OptionSpec(
        "show-versions", .flag, .mountOnly, folded: true,
        help: "List .versions in folders (it opens by name either way)")
    static let busyPoll = OptionSpec(
        "busy-poll", .value, .mountOnly, folded: true,
        help: "Microseconds the daemon stays awake after a request for the next one of a burst", note: "0 off")
    static let workerTimeout = OptionSpec(
        "worker-timeout", .value, .mountOnly, folded: true,
        help: "How long a worker may go without answering before it is killed and replaced", note: "0 off")
    static let uid = OptionSpec("uid", .value, .mountOnly, help: "Owner of every file (default: the mounting user)")
    static let gid = OptionSpec(
        "gid", .value, .mountOnly, help: "Group of every file (default: the mounting user's)")
    static let fileMode = OptionSpec(
        "file-mode", .value, .mountOnly, help: "Mode of secret files, octal", defaultText: "0400")
    static let dirMode = OptionSpec("dir-mode", .value, .mountOnly, help: "Mode of folders, octal", defaultText: "0500")
    static let allowOther = OptionSpec(
        "allow-other", .flag, .mountOnly, help: "Let other users in (modes and the policy still apply)")
    static let nonEmpty = OptionSpec(
        "nonempty", .flag, .mountOnly, folded: true,
        help: "Mount over a folder that holds files, hiding them (also -o nonempty)")
    static let rotationLength = OptionSpec(
        "rotation-length", .value, .mountOnly, folded: true,
        help: "Length of values made by .rotate: letters and digits")
    static let auditLog = OptionSpec(
        "audit-log", .value, .mountOnly, help: "Append a JSON line per open and rotation to this file")
    static let auditOwner = OptionSpec(
        "audit-owner", .value, .mountOnly, folded: true,
        help: "Who the mount serves, written as owner in each audit line (the CSI plugin: the pod)")
    static let mlock = OptionSpec(
        "mlock", .flag, .mountOnly, folded: true, help: "Lock the daemon's memory so values never reach swap")
    static let daemon = OptionSpec(
        "daemon", .flag, .mountOnly,
        help: "Run in the background; exit 0 once the mount serves")
    static let logFile = OptionSpec(
        "log-file", .value, .mountOnly, help: "With --daemon: the daemon's log file (default: none)")
    static let kernelOptions = OptionSpec(
        "o", .list, .mountOnly, help: "Mount options as in fstab, comma-separated (repeatable)")

    private static func typed(_ duration: Duration) -> String { DurationArgument(duration).defaultValueDescription }
}
