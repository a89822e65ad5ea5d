import ArgumentParser
import SecretsBackendKit
import SecretsCore

/// The option table: every option's spec (`OptionSpec`), each declared once. A backend's options are its
/// module's (`Backend.options`, listed by `Backends.all`); the ones every subcommand shares and `mount`'s
/// own are here. The argument parser, the config file, `-o` and the mountpoint-file check read it.
typealias OptionSpec = SecretsBackendKit.OptionSpec

extension OptionSpec {
    /// The option `key` (a flag's name, without dashes), if it is one of the table's.
    static func named(_ key: String) -> OptionSpec? { byName[key] }

    private static let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}

// MARK: - The table

extension OptionSpec {
    static let all: [OptionSpec] = backend + mount

    // Every subcommand's, as `BackendOptions` holds them (DESIGN section 2).
    static let backend: [OptionSpec] =
        [config, backendKind] + Backends.all.flatMap(\.options) + [backendTimeout, logLevel, logFormat]

    static let config = OptionSpec(
        "config", environment: ["SECRETSFS_CONFIG"], inConfigFile: false,
        help: "YAML file whose keys are these flags' names", note: "flags and environment win")
    static let backendKind = OptionSpec(
        "backend", environment: ["SECRETSFS_BACKEND"], help: "Backend",
        defaultText: BackendKind.local.rawValue, note: "each one's flags: secretsfs help backends")
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
