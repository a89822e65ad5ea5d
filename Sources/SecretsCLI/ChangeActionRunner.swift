import Foundation
import Logging
import SecretsCore
import SecretsFileSystem
import ServiceLifecycle

/// Runs the `on_change` actions of the config: each change event of the mount that matches an
/// action's paths goes to its schedule (debounce, splay); a run waits until the kernel shows the new
/// value, then runs the program or sends the signal, logs how it ended and counts it for `.status`.
/// A failing action never stops the mount.
///
/// A change is seen only when the mount fetches a secret, and a program that reloads on a change (nginx)
/// reads its files only when it reloads. So the runner has the freshness service keep its watched
/// secrets fresh whether or not anyone reads them (`watch`, found again once per cache TTL): the cache
/// fetches each again as it expires, and a new version found becomes a change event, which the runner
/// hears as any.
struct ChangeActionRunner: Service, CustomStringConvertible {
    var actions: [ChangeAction]
    var cache: CachingSecretStore
    var fileSystem: SecretsFileSystem
    var rendered: RenderedFiles
    var tally: ChangeActionTally
    /// The environment a program of an action starts with (credentials already withheld).
    var environment: [String: String]
    var clock: any TimeSource
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }
    var logger: Logger

    // The service group logs each service's description: the environment and argv stay out of it.
    var description: String { "ChangeActionRunner(actions: \(actions.count))" }

    func run() async {
        guard !actions.isEmpty else { return }
        let subscription = fileSystem.changes.subscribe(capacity: 4096)
        let schedules = actions.map { action in
            ChangeActionSchedule(
                debounce: action.debounce, splay: action.splay, clock: clock, random: random,
                perform: { [self] paths in await self.perform(action, paths) })
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let batch = await subscription.next()
                if batch.isEmpty { continue }
                await route(batch, to: schedules)
            }
        }
        subscription.close()
        for schedule in schedules { await schedule.stop() }
    }

    private func route(_ batch: ChangeBatch, to schedules: [ChangeActionSchedule]) async {
        if batch.lost > 0 {
            // Which paths the lost events named is unknown: every action runs rather than none.
            logger.warning("on_change fell behind: every action runs", metadata: ["lost": "\(batch.lost)"])
            for schedule in schedules { await schedule.changed([]) }
        }
        for (action, schedule) in zip(actions, schedules) {
            // A value served stale is the same value: nothing to reload.
            let paths = batch.events.filter { $0.cause != .stale && action.matches($0.path, field: $0.field) }
                .map(\.path)
            if !paths.isEmpty { await schedule.changed(paths) }
        }
    }

    private func perform(_ action: ChangeAction, _ paths: [SecretPath]) async {
        await fileSystem.changesVisible()
        let names = Self.names(paths)
        logger.notice(
            "on_change action runs",
            metadata: ["action": "\(action.index)", "kind": "\(action.effect.kind)", "paths": "\(names)"])
        let outcome: ActionOutcome
        switch action.effect {
        case .signal(let number, let pidFile):
            outcome = ActionSignal(number: number, pidFile: pidFile, index: action.index, logger: logger).run()
        case .exec, .systemdUnit:
            var environment = environment
            environment["SECRETSFS_CHANGED_PATHS"] = names
            outcome = await ActionProgram(
                argv: action.effect.argv ?? [], environment: environment, timeout: action.timeout,
                index: action.index, clock: clock, logger: logger
            ).run()
        }
        tally.record(action.index, at: clock.wallNow(), exitStatus: outcome.exitStatus, failure: outcome.failure)
        var metadata: Logger.Metadata = ["action": "\(action.index)", "kind": "\(action.effect.kind)"]
        if let status = outcome.exitStatus { metadata["exit_status"] = "\(status)" }
        if let failure = outcome.failure {
            metadata["failure"] = "\(failure)"
            logger.error("on_change action failed", metadata: metadata)
        } else {
            logger.notice("on_change action done", metadata: metadata)
        }
    }

    /// The changed paths, comma-separated, cut at `maxNames` bytes (whole names only, then `,...`): a
    /// change of thousands of secrets must not make an environment too big to start a program.
    static func names(_ paths: [SecretPath]) -> String {
        var text = ""
        for path in paths {
            let added = (text.isEmpty ? 0 : 1) + path.string.utf8.count
            if text.utf8.count + added > maxNames { return text + ",..." }
            text += (text.isEmpty ? "" : ",") + path.string
        }
        return text
    }

    static let maxNames = 16 * 1024

    /// What the freshness service keeps fresh for the actions (the paths found again once per TTL), so
    /// a change at the store is seen though nobody reads the file. With caching off nothing is kept to
    /// compare: nil.
    var watch: FreshnessService.Watch? {
        guard !actions.isEmpty, cache.policy.ttl > .zero else { return nil }
        return FreshnessService.Watch(period: cache.policy.ttl) { [self] in await watchedSecrets() }
    }

    /// The secrets the actions watch now, found by walking the listings only into folders a pattern can
    /// match below (walked again each round, so a new secret is seen), and the inputs of watched
    /// rendered files.
    func watchedSecrets() async -> [SecretPath] {
        let actions = self.actions
        let walked = await Prefetch.walk(
            in: cache, wanted: { path in actions.contains { $0.matches(path, field: nil) } },
            entering: { folder in
                let segments = ArraySlice(folder.segments)
                return actions.contains { $0.patterns.contains { Glob.prefixCompatible($0, segments) } }
            })
        var found = Set(walked.paths)
        for file in rendered.all where actions.contains(where: { $0.matches(file.path, field: nil) }) {
            for input in file.template.inputs {
                if let path = try? SecretPath(input.path) { found.insert(path) }
            }
        }
        return found.sorted()
    }
}
