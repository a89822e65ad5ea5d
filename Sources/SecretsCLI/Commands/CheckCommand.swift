import ArgumentParser
import Foundation
import Logging
import SecretsCore
import SecretsFUSE
import SecretsFileSystem
import SecretsSupervision
import Synchronization

/// `secretsfs check [MOUNTPOINT] [mount's options]`: what `mount` checks before it serves, without
/// mounting. The arguments are parsed as `mount`'s (the same flags, config keys and `-o`), and each
/// check is the one `mount` runs, in its order; the warnings `mount` would log are collected as
/// findings. Then what a mount learns only once readers come: that the backend answers a listing of
/// the root (credentials, region, the mount and prefix), that something is there, and that each
/// rendered file renders.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check what mount would (flags, config, templates, backend, mountpoint) without mounting.",
        usage: "secretsfs check [<mountpoint>] [<mount's options>]",
        discussion: """
            Takes mount's arguments and options (secretsfs mount --help); the mountpoint may be left out. \
            One line per finding on stderr. Exit 0 only when there is none; else the status mount would \
            exit with for the first error, or 1 for warnings alone.
            """)

    @Argument(parsing: .allUnrecognized, help: "The mountpoint, if any, and mount's options.")
    var arguments: [String] = []

    func run() async throws {
        let findings = CheckFindings()
        var mountpointGiven = arguments.first.map { !$0.hasPrefix("-") } ?? false
        let mount: MountCommand
        do {
            // A mountpoint stands in for the one left out; nothing is checked of it.
            mount = try MountCommand.parse(mountpointGiven ? arguments : ["/"] + arguments)
        } catch {
            // The mountpoint may come after the options (`check --store s.db /mnt`), as `mount` takes it.
            guard !mountpointGiven, let later = try? MountCommand.parse(arguments) else {
                findings.error(SecretsFSCommand.usageLine(for: error, arguments: arguments), ExitStatus.usage)
                findings.finish(summary: nil)
            }
            mount = later
            mountpointGiven = true
        }
        let log = bootstrapLogging(mount.backend, defaultLevel: .critical)
        let logger = findings.logger
        let environment = ProcessInfo.processInfo.environment

        // As `mount` checks before it mounts (MountCommand.supervise, MountWorker.serve).
        mount.warnIfOthersAreLockedOut(logger)
        let config = mount.backend.config
        let structured = config.flatMap { path in
            findings.attempt { try ConfigFile.load(path).checkStructuredKeys() }
        }
        if let structured {
            mount.warnIfConfiguredOwnersAreLockedOut(
                logger, rules: structured.permissions, files: structured.files.all)
        }
        if mountpointGiven {
            findings.attempt { try mount.refuseFilesUnderMountpoint(environment) }
            findings.attempt {
                try MountPoint.prepare(mount.mountpoint, nonEmpty: mount.allowsNonEmpty, clearing: false)
            }
        }
        // A config that does not load leaves nothing certain to check the backend with.
        if config != nil, structured == nil { findings.finish(summary: nil) }

        // The backend's own log lines (a failed call, then its retry) would repeat the error it throws,
        // which is the finding: they go to the log, off unless --log-level asks.
        var factory = StoreFactory(options: mount.backend, environment: environment, logger: log)
        factory.certificates = structured?.certificates ?? []
        guard let kind = findings.attempt({ try factory.checkedBackendKind() }) else { findings.finish(summary: nil) }
        if kind == .local, !FileManager.default.fileExists(atPath: factory.localStorePath()) {
            // Opening it would make it; a check changes nothing.
            findings.warning(
                "the local store \(factory.localStorePath()) does not exist; a mount would start it empty "
                    + "(secretsfs put makes it)")
            findings.finish(summary: nil)
        }
        guard let store = await findings.attemptAsync({ try await factory.makeStore() }) else {
            findings.finish(summary: nil)
        }
        let name = "\(store.descriptor.backend) \(store.descriptor.address)"
        var summary: String?
        if let listing = await findings.attemptAsync({ try await store.list(.root) }) {
            let health = await store.health()
            if !health.healthy { findings.error("\(name): unhealthy: \(health.detail)", ExitStatus.unavailable) }
            for warning in health.warnings { findings.warning(warning) }
            if listing.isEmpty, health.warnings.isEmpty {
                findings.warning("\(name) shows nothing at the root: a mount would be empty")
            }
            let files = structured?.files ?? RenderedFiles.none
            await renderEach(files, store: store, findings: findings)
            summary =
                "\(name): \(listing.secrets.count + listing.folders.count) names at the root"
                + (files.all.isEmpty ? "" : ", \(files.all.count) rendered files")
        }
        await store.shutdown()
        findings.finish(summary: summary)
    }

    /// Each rendered file as a read of it would make it now: a missing input is the reader's ENOENT at
    /// the mount, so it is a warning here.
    private func renderEach(
        _ files: RenderedFiles, store: any SecretStore, findings: CheckFindings
    ) async {
        guard !files.all.isEmpty else { return }
        // The file system's own line about a failed input would say again what the finding says.
        let logger = Logger(label: "secretsfs") { _ in SwiftLogNoOpLogHandler() }
        // Through a cache as at the mount (and in `render`), so inputs resolve by the same rules.
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: logger)
        var options = FileSystemOptions(uid: getuid(), gid: getgid())
        options.rendered = files
        let fileSystem = SecretsFileSystem(store: cache, options: options, clock: SystemTimeSource(), logger: logger)
        for file in files.all {
            do {
                _ = try await fileSystem.renderedValue(at: file.path)
            } catch {
                findings.warning("rendered file \(file.path): \(SecretError.from(error).description)")
            }
        }
    }
}

/// What `check` found, each said as one line on stderr when found; the exit status is the first
/// error's (as `mount` would exit), 1 for warnings alone.
final class CheckFindings: Sendable {
    private let state = Mutex<(status: Int32?, warnings: Int)>((nil, 0))

    /// Takes what `mount`'s checks would log at warning or above, each as a finding.
    var logger: Logger {
        Logger(label: "secretsfs") { _ in FindingLogHandler(findings: self) }
    }

    func error(_ line: String, _ status: ExitCode) {
        state.withLock { if $0.status == nil { $0.status = status.rawValue } }
        say(line)
    }

    func warning(_ line: String) {
        state.withLock { $0.warnings += 1 }
        say("warning: " + line)
    }

    /// `body`'s answer, or nil when it threw: then its error is a finding, with the status `mount` gives it.
    @discardableResult
    func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch {
            record(error)
            return nil
        }
    }

    @discardableResult
    func attemptAsync<T>(_ body: () async throws -> T) async -> T? {
        do {
            return try await body()
        } catch {
            record(error)
            return nil
        }
    }

    private func record(_ error: any Error) {
        let failure = SecretError.from(error)
        self.error(failure.description, ExitStatus.code(for: failure))
    }

    /// Ends the process: a summary line on stdout when nothing was found.
    func finish(summary: String?) -> Never {
        let (status, warnings) = state.withLock { $0 }
        if let status { Foundation.exit(status) }
        if warnings > 0 { Foundation.exit(ExitStatus.failure.rawValue) }
        printLine("ok: " + (summary ?? "nothing to report"))
        Foundation.exit(0)
    }

    private func say(_ line: String) {
        FileHandle.standardError.write(Data("secretsfs: \(line)\n".utf8))
    }
}

/// A log line of a check `mount` runs, taken as a finding: warnings and errors only, and only the
/// message (which names no value) with its metadata.
private struct FindingLogHandler: LogHandler {
    let findings: CheckFindings
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        // The backend names itself in the line already.
        merged["backend"] = nil
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let line = "\(event.message)" + (fields.isEmpty ? "" : " (\(fields.joined(separator: ", ")))")
        if event.level >= .error {
            findings.error(line, ExitStatus.failure)
        } else {
            findings.warning(line)
        }
    }
}
