import ArgumentParser
import Dispatch
import Foundation
import Logging
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// `secretsfs exec --env NAME=path … -- PROGRAM ARGS…`: the reverse of the env backend, for
/// programs that read their secrets from environment variables. Values reach only the child's
/// environment: never secretsfs's own argv, environment or log.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Start a program with secrets in its environment; restart or signal it when they change.")

    @Option(name: .customLong("env"), help: "NAME=secret/path (or secret/field); repeatable.")
    var mappings: [String] = []
    @Option(name: .customLong("on-change"), help: "restart, signal:NAME (e.g. signal:HUP), or none.")
    var onChange: String = "restart"
    @Option(help: "How often the secrets are read again to find changes.") var poll = DurationArgument(.seconds(60))
    @Option(help: "Up to this long a random wait before acting on a change.") var splay = DurationArgument(.zero)
    @OptionGroup var backend: BackendOptions
    @Argument(parsing: .postTerminator, help: "The program and its arguments, after --.") var command: [String] = []

    enum ChangeAction: Equatable {
        case restart
        case signal(Int32)
        case none
    }

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("name the program after --") }
        guard !mappings.isEmpty else { throw ValidationError("give at least one --env NAME=path") }
        for mapping in mappings { _ = try Self.parse(mapping) }
        _ = try Self.action(onChange)
        guard poll.duration > .zero else { throw ValidationError("--poll must be more than 0") }
    }

    static func parse(_ mapping: String) throws -> (name: String, path: SecretPath) {
        guard let equals = mapping.firstIndex(of: "=") else {
            throw ValidationError("--env \(mapping): expected NAME=secret/path")
        }
        let name = String(mapping[..<equals])
        let isName =
            !name.isEmpty && name.first.map { $0 == "_" || $0.isASCII && $0.isLetter } == true
            && name.allSatisfy { $0 == "_" || $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard isName else { throw ValidationError("--env \(name): not an environment variable name") }
        do {
            return (name, try SecretPath(String(mapping[mapping.index(after: equals)...])))
        } catch {
            throw ValidationError("--env \(name): \(error.message)")
        }
    }

    static func action(_ text: String) throws -> ChangeAction {
        switch text {
        case "restart": return .restart
        case "none": return .none
        case let text where text.hasPrefix("signal:"):
            guard let number = SignalName.number(String(text.dropFirst("signal:".count))) else {
                throw ValidationError("--on-change \(text): not one of \(SignalName.known)")
            }
            return .signal(number)
        default:
            throw ValidationError("--on-change \(text): expected restart, signal:NAME or none")
        }
    }

    func run() async throws {
        let logger = bootstrapLogging(backend, defaultLevel: .warning)
        let environment = ProcessInfo.processInfo.environment
        let factory = StoreFactory(options: backend, environment: environment, logger: logger)
        let clock = factory.clock
        // Read through a cache whose answers live one poll: the freshness service keeps the wanted
        // values fresh (`FreshnessService.Watch`: fetched again as each expires) and a new version
        // found is a change event.
        var policy = CachePolicy(ttl: poll.duration, refreshJitter: 0)
        if let timeout = backend.backendTimeout?.duration { policy.backendTimeout = timeout }
        let store = CachingSecretStore(
            upstream: try await factory.makeStore(), policy: policy, clock: clock, logger: logger)
        let wanted = try mappings.map(Self.parse)
        let action = try Self.action(onChange)
        var values = try await Self.read(wanted, from: store)
        let child = ChildProgram(command: command, environment: environment, clock: clock, logger: logger)
        try child.start(with: values)
        await child.forwardSignals()
        let (changes, announce) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        // A value served stale is the same value: nothing to act on.
        await store.onChange { change in if change.cause != .stale { announce.yield() } }
        var freshness = FreshnessService(
            cache: store, prefetch: Prefetch(patterns: []), interval: nil, clock: clock, logger: logger,
            strategy: .readAhead)
        freshness.watches = [FreshnessService.Watch(period: poll.duration) { wanted.map(\.path) }]
        let keeper = Task { [freshness] in await freshness.run() }
        let watcher = Task {
            for await _ in changes {
                guard child.isRunning else { continue }
                // A backend that fails now changes nothing: the program keeps what it has.
                guard let fresh = try? await Self.read(wanted, from: store), fresh != values else { continue }
                let changed = wanted.filter { fresh[$0.name] != values[$0.name] }.map(\.name)
                values = fresh
                if splay.duration > .zero {
                    try? await clock.sleep(for: .milliseconds(Int64.random(in: 0...splay.duration.milliseconds)))
                }
                logger.notice(
                    "secrets changed",
                    metadata: ["variables": "\(changed.joined(separator: ","))", "action": "\(onChange)"])
                switch action {
                case .restart: await child.restart(with: fresh)
                case .signal(let number): child.signal(number)
                case .none: break
                }
            }
        }
        let status = await child.waitForExit()
        watcher.cancel()
        keeper.cancel()
        announce.finish()
        await store.shutdown()
        // The program's status is secretsfs's, as `exec` in a shell would leave it.
        Foundation.exit(status)
    }

    static func read(_ wanted: [(name: String, path: SecretPath)], from store: any SecretStore) async throws
        -> [String: SecretValue]
    {
        var values: [String: SecretValue] = [:]
        for (name, path) in wanted { values[name] = try await readValue(store, path, version: nil) }
        return values
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
