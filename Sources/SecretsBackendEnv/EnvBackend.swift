import ArgumentParser
import SecretsBackendKit
import SecretsCore

/// The daemon's environment as a store (`--backend env`): only what the prefix or a glob names.
public enum EnvBackend: Backend {
    public static let kinds = ["env"]
    public static let heading = "Environment variables"
    public static let options: [OptionSpec] = [.envPrefix, .envInclude]

    public struct Flags: ParsableArguments, Sendable {
        public init() {}
        @Option(name: .option(.envPrefix), help: .option(.envPrefix)) public var envPrefix: String?
        @Option(name: .option(.envInclude), help: .option(.envInclude)) public var envInclude: [String] = []
    }

    public static func connect(_ kind: String, flags: Flags, context: BackendContext) async throws -> ConnectedBackend {
        ConnectedBackend(
            store: EnvSecretStore(
                environment: context.environment, prefix: flags.envPrefix, includeGlobs: flags.envInclude))
    }
}

extension OptionSpec {
    public static let envPrefix = OptionSpec("env-prefix", help: "env: only variables with this prefix are shown")
    public static let envInclude = OptionSpec(
        "env-include", .list, help: "env: also show variables matching this glob (repeatable)")
}
