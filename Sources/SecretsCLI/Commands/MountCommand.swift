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
    @Option(name: .customLong("max-stale"), help: "How long past its TTL a value is served when the backend fails (default 24h; 0 off).")
    var maxStale = DurationArgument(.seconds(86_400))
    @Option(name: .customLong("negative-ttl"), help: "How long a missing secret is remembered (default 10s).")
    var negativeTTL = DurationArgument(.seconds(10))
    @Option(name: .customLong("cache-max-entries"), help: "Most entries kept in the cache (default 10000).")
    var cacheMaxEntries = 10_000
    @Flag(name: .customLong("direct-io"), help: "Every open and read reaches the daemon; nothing stays in the page cache.")
    var directIO = false
    @Option(help: "Owner of every file (default: the mounting user).") var uid: UInt32?
    @Option(help: "Group of every file (default: the mounting user's group).") var gid: UInt32?
    @Option(name: .customLong("file-mode"), help: "Mode of secret files, octal (default 0400).") var fileMode: ModeArgument?
    @Option(name: .customLong("dir-mode"), help: "Mode of folders, octal (default 0500).") var dirMode: ModeArgument?
    @Flag(name: .customLong("allow-other"), help: "Let other users reach the mount (modes still apply).")
    var allowOther = false
    @Option(name: .short, help: "Mount options, comma-separated, as in fstab (repeatable).") var o: [String] = []

    @OptionGroup var backend: BackendOptions

    func validate() throws {
        if cacheMaxEntries < 1 { throw ValidationError("--cache-max-entries must be at least 1") }
    }

    func run() async throws {
        let logger = bootstrapLogging(backend, defaultLevel: .info)
        // Check the mountpoint before connecting, so a typo fails fast with one line.
        try MountPoint.prepare(mountpoint)
        let environment = ProcessInfo.processInfo.environment
        let upstream = try await StoreFactory(options: backend, environment: environment, logger: logger).makeStore()
        let policy = CachePolicy(
            ttl: cacheTTL.duration, maxStale: maxStale.duration, negativeTTL: negativeTTL.duration,
            maxEntries: cacheMaxEntries)
        let cache = CachingSecretStore(upstream: upstream, policy: policy, logger: logger)
        let options = FileSystemOptions(
            uid: uid ?? getuid(), gid: gid ?? getgid(),
            fileMode: fileMode?.mode ?? 0o400, dirMode: dirMode?.mode ?? 0o500,
            directIO: directIO, kernelCacheTimeout: cacheTTL.duration.seconds)
        let fileSystem = SecretsFileSystem(store: cache, options: options, clock: SystemTimeSource(), logger: logger)
        let mount = FUSEMount(
            fileSystem: fileSystem,
            options: MountOptions(
                mountpoint: mountpoint, allowOther: allowOther, fsName: "secretsfs:\(upstream.descriptor.backend)",
                extraOptions: o.flatMap { $0.split(separator: ",").map(String.init) }),
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: mount, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await cache.shutdown()
            throw error
        }
        await cache.shutdown()
    }
}
