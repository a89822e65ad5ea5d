import ArgumentParser
import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsFileSystem
import SecretsSupervision
import ServiceLifecycle

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the store as read-only files; runs in the foreground until SIGINT, SIGTERM or unmount.",
        discussion: "Cache tuning, speed and worker flags: secretsfs mount --help-hidden.")

    @Argument(help: "An empty folder (--nonempty: one that holds files).") var mountpoint: String

    // Names and help come from `OptionSpec`; the defaults are the cache's own.
    @Option(name: .option(.cacheTTL), help: .option(.cacheTTL)) var cacheTTL = DurationArgument(CachePolicy().ttl)
    @Option(name: .option(.refreshJitter), help: .option(.refreshJitter))
    var refreshJitter = FractionArgument(CachePolicy().refreshJitter)
    @Option(name: .option(.refreshInterval), help: .option(.refreshInterval)) var refreshInterval: DurationArgument?
    @Option(name: .option(.prefetch), help: .option(.prefetch)) var prefetch: [String] = []
    @Option(name: .option(.maxStale), help: .option(.maxStale)) var maxStale = DurationArgument(CachePolicy().maxStale)
    @Option(name: .option(.negativeTTL), help: .option(.negativeTTL))
    var negativeTTL = DurationArgument(CachePolicy().negativeTTL)
    @Option(name: .option(.cacheMaxEntries), help: .option(.cacheMaxEntries))
    var cacheMaxEntries = CachePolicy().maxEntries
    @Option(name: .option(.cacheFile), help: .option(.cacheFile)) var cacheFile: String?
    @Option(name: .option(.cacheKeyFile), help: .option(.cacheKeyFile)) var cacheKeyFile: String?
    @Flag(name: .option(.directIO), help: .option(.directIO)) var directIO = false
    @Flag(name: .option(.keepPages), help: .option(.keepPages)) var keepPages = false
    @Flag(name: .option(.events), help: .option(.events)) var events = false
    @Flag(name: .option(.showVersions), help: .option(.showVersions)) var showVersions = false
    @Option(name: .option(.busyPoll), help: .option(.busyPoll)) var busyPoll = Self.defaultBusyPoll
    @Option(name: .option(.workerTimeout), help: .option(.workerTimeout))
    var workerTimeout = DurationArgument(Self.defaultWorkerTimeout)
    @Option(name: .option(.uid), help: .option(.uid)) var uid: UInt32?
    @Option(name: .option(.gid), help: .option(.gid)) var gid: UInt32?
    @Option(name: .option(.fileMode), help: .option(.fileMode)) var fileMode: ModeArgument?
    @Option(name: .option(.dirMode), help: .option(.dirMode)) var dirMode: ModeArgument?
    @Flag(name: .option(.allowOther), help: .option(.allowOther)) var allowOther = false
    @Flag(name: .option(.nonEmpty), help: .option(.nonEmpty)) var nonEmpty = false
    @Option(name: .option(.rotationLength), help: .option(.rotationLength))
    var rotationLength = PasswordGenerator().length
    @Option(name: .option(.auditLog), help: .option(.auditLog)) var auditLog: String?
    @Option(name: .option(.auditOwner), help: .option(.auditOwner)) var auditOwner: String?
    @Flag(name: .option(.mlock), help: .option(.mlock)) var mlock = false
    @Flag(name: .option(.daemon), help: .option(.daemon)) var daemon = false
    @Option(name: .option(.logFile), help: .option(.logFile)) var logFile: String?
    @Option(name: .option(.kernelOptions), help: .option(.kernelOptions)) var o: [String] = []

    @OptionGroup var backend: BackendOptions

    /// `-o nonempty` is fuse2's spelling; libfuse 3 refuses it, so it is ours, not the kernel's.
    var allowsNonEmpty: Bool { nonEmpty || kernelOptionList.contains("nonempty") }
    var kernelOptionList: [String] { o.flatMap { $0.split(separator: ",").map(String.init) } }

    /// In microseconds; the flag and its help both read it.
    static let defaultBusyPoll = 200
    /// DESIGN §6: a worker that stops answering is found within a few seconds.
    static let defaultWorkerTimeout: Duration = .seconds(5)

    func validate() throws {
        if cacheMaxEntries < 1 { throw ValidationError("--cache-max-entries must be at least 1") }
        if !(0...10_000).contains(busyPoll) {
            throw ValidationError("--busy-poll must be from 0 to 10000 microseconds")
        }
        if let interval = refreshInterval, interval.duration <= .zero {
            throw ValidationError("--refresh-interval must be more than 0")
        }
        if prefetch.contains(where: { $0.split(separator: "/").isEmpty }) {
            throw ValidationError("--prefetch needs a path glob, such as openai/* or db/**")
        }
        if keepPages && directIO { throw ValidationError("--keep-pages and --direct-io cannot be used together") }
        try PasswordGenerator.checkLength(rotationLength, flag: "--rotation-length")
    }

    func run() async throws {
        if daemon {
            // Check what can be checked here, so the common mistakes fail before forking.
            try MountPoint.prepare(mountpoint, nonEmpty: allowsNonEmpty)
            let arguments = Array(CommandLine.arguments.dropFirst()).filter { $0 != "--daemon" }
            let rewritten = try ArgumentRewriter.rewrite(arguments, environment: ProcessInfo.processInfo.environment)
                .filter { $0 != "--daemon" }
            let verdict = DaemonReadiness.spawnAndWait(arguments: rewritten, logFile: logFile)
            if case .failed(let status, let line) = verdict { throw DaemonFailure(status: status, line: line) }
            return
        }
        let environment = ProcessInfo.processInfo.environment
        if logFile != nil, environment[DaemonReadiness.environmentKey] == nil, WorkerChannel.from(environment) == nil {
            // Said once, by the process the user started: the daemon's own child takes --log-file.
            FileHandle.standardError.write(
                Data("secretsfs: warning: --log-file is for --daemon; in the foreground the log goes to stderr\n".utf8))
        }
        if let channel = WorkerChannel.from(environment) {
            try await serve(as: channel, environment: environment)
        } else {
            try await supervise(environment: environment)
        }
    }
}
