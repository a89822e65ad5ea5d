import ArgumentParser
import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsFileSystem
import ServiceLifecycle

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the store as read-only files; runs in the foreground until SIGINT, SIGTERM or unmount.")

    @Argument(help: "An existing, empty folder.") var mountpoint: String

    @Option(name: .customLong("cache-ttl"), help: "How long a value is fresh (default 300s; 0 turns caching off).")
    var cacheTTL = DurationArgument(.seconds(300))
    @Option(
        name: .customLong("max-stale"),
        help: "How long past its TTL a value is served when the backend fails (default 24h; 0 off).")
    var maxStale = DurationArgument(.seconds(86_400))
    @Option(name: .customLong("negative-ttl"), help: "How long a missing secret is remembered (default 10s).")
    var negativeTTL = DurationArgument(.seconds(10))
    @Option(name: .customLong("cache-max-entries"), help: "Most entries kept in the cache (default 10000).")
    var cacheMaxEntries = 10_000
    @Flag(
        name: .customLong("direct-io"), help: "Every open and read reaches the daemon; nothing stays in the page cache."
    )
    var directIO = false
    @Flag(
        name: .customLong("keep-pages"),
        help: "Accepted and ignored: values stay in the page cache in every mode but --direct-io.")
    var keepPages = false
    @Flag(name: .customLong("show-versions"), help: "List .versions in folders (it opens by name either way).")
    var showVersions = false
    @Option(
        name: .customLong("busy-poll"),
        help: "Microseconds the daemon stays awake after a request for the next one of a burst (default 200; 0 off).")
    var busyPoll = 200
    @Option(help: "Owner of every file (default: the mounting user).") var uid: UInt32?
    @Option(help: "Group of every file (default: the mounting user's group).") var gid: UInt32?
    @Option(name: .customLong("file-mode"), help: "Mode of secret files, octal (default 0400).") var fileMode:
        ModeArgument?
    @Option(name: .customLong("dir-mode"), help: "Mode of folders, octal (default 0500).") var dirMode: ModeArgument?
    @Flag(name: .customLong("allow-other"), help: "Let other users reach the mount (modes and the policy still apply).")
    var allowOther = false
    @Option(
        name: .customLong("rotation-length"), help: "Length of values made by .rotate: letters and digits (default 32)."
    )
    var rotationLength = 32
    @Option(name: .customLong("audit-log"), help: "Append one JSON line per open and per rotation to this file.")
    var auditLog: String?
    @Flag(help: "Lock the daemon's memory so values never reach swap.") var mlock = false
    @Flag(help: "Run in the background; exit 0 once the mount serves, or non-zero with the daemon's error.")
    var daemon = false
    @Option(name: .customLong("log-file"), help: "With --daemon: where the daemon's log goes (default: nowhere).")
    var logFile: String?
    @Option(name: .short, help: "Mount options, comma-separated, as in fstab (repeatable).") var o: [String] = []

    @OptionGroup var backend: BackendOptions

    func validate() throws {
        if cacheMaxEntries < 1 { throw ValidationError("--cache-max-entries must be at least 1") }
        if !(0...10_000).contains(busyPoll) {
            throw ValidationError("--busy-poll must be from 0 to 10000 microseconds")
        }
        if keepPages && directIO { throw ValidationError("--keep-pages and --direct-io cannot be used together") }
        try PasswordGenerator.checkLength(rotationLength, flag: "--rotation-length")
    }

    func run() async throws {
        if daemon {
            // Check what can be checked here, so the common mistakes fail before forking.
            try MountPoint.prepare(mountpoint)
            let arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != "--daemon" }
            let rewritten = try ArgumentRewriter.rewrite(arguments, environment: ProcessInfo.processInfo.environment)
                .filter { $0 != "--daemon" }
            let verdict = DaemonReadiness.spawnAndWait(arguments: rewritten, logFile: logFile)
            guard verdict.ok else { throw SecretError(.unavailable, verdict.message) }
            return
        }
        let environment = ProcessInfo.processInfo.environment
        if let channel = WorkerChannel.from(environment) {
            try await serve(as: channel, environment: environment)
        } else {
            try await supervise(environment: environment)
        }
    }
}
