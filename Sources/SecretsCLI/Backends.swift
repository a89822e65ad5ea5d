import ArgumentParser
import SecretsBackendAWS
import SecretsBackendEnv
import SecretsBackendKit
import SecretsBackendLocal
import SecretsBackendVault
import SecretsCore

/// Every backend the binary has, as rclone's `backend/all`: a new one is its own target declaring a
/// `Backend`, one line in `Backends.all` and one group in `BackendFlagGroups`. The option table, the
/// help, the config keys, `-o`, `StoreFactory` and the supervisor's lists read them from here.
enum Backends {
    static let all: [RegisteredBackend] = [
        RegisteredBackend(LocalBackend.self, \.local),
        RegisteredBackend(EnvBackend.self, \.env),
        RegisteredBackend(VaultBackend.self, \.vault),
        RegisteredBackend(AWSBackend.self, \.aws),
    ]

    /// Every name `--backend` takes, in the order of `all`.
    static let kinds = all.flatMap(\.kinds)

    static func named(_ kind: BackendKind) -> RegisteredBackend? {
        all.first { $0.kinds.contains(kind.rawValue) }
    }

    /// Every variable a backend's credential chain reads a secret from: read once by a supervisor and
    /// handed to each worker in memory, and kept from every program secretsfs starts. (CProcessGuard
    /// holds the same list for the moment before main; a test keeps the two alike.)
    static let credentialVariables: [String] = all.flatMap(\.credentialVariables)

    /// The files the backend options name that the daemon reads, each with its flag: a mount refuses
    /// one inside its own mountpoint. A variable that stands in for a flag counts, unless it holds the
    /// credential itself rather than a file's name.
    static func filesRead(by options: BackendFlagGroups, environment: [String: String]) -> [(
        flag: String, path: String?
    )] {
        all.flatMap { backend in
            let given = backend.givenValues(options)
            return backend.options.filter(\.readsFile).map { spec in
                let fromEnvironment = spec.credentialInEnvironment ? nil : spec.value(in: environment)
                return (spec.flag, given[spec.name]?.first ?? fromEnvironment)
            }
        }
    }
}

/// Each backend's flags under its heading, as every subcommand takes them (`BackendOptions`) and
/// `secretsfs help backends` shows them.
struct BackendFlagGroups: ParsableArguments, Sendable {
    @OptionGroup(title: LocalBackend.heading) var local: LocalBackend.Flags
    @OptionGroup(title: EnvBackend.heading) var env: EnvBackend.Flags
    @OptionGroup(title: VaultBackend.heading) var vault: VaultBackend.Flags
    @OptionGroup(title: AWSBackend.heading) var aws: AWSBackend.Flags
}

/// One entry of the registry: a `Backend`'s description, and its flags found among the parsed groups.
struct RegisteredBackend: Sendable {
    let kinds: [String]
    let options: [OptionSpec]
    let credentialVariables: [String]
    let flagsType: any ParsableArguments.Type
    let givenValues: @Sendable (BackendFlagGroups) -> [String: [String]]
    let connect: @Sendable (String, BackendFlagGroups, BackendContext) async throws -> ConnectedBackend

    init<B: Backend>(_ backend: B.Type, _ flags: KeyPath<BackendFlagGroups, B.Flags> & Sendable) {
        kinds = B.kinds
        options = B.options
        credentialVariables = B.options.filter(\.credentialInEnvironment).flatMap(\.environment) + B.credentialVariables
        flagsType = B.Flags.self
        givenValues = { OptionSpec.givenValues(of: $0[keyPath: flags], B.options) }
        connect = { kind, groups, context in try await B.connect(kind, flags: groups[keyPath: flags], context: context)
        }
    }
}

/// A name `--backend` (or `SECRETSFS_BACKEND`, or `backend:`) takes: one of the registry's kinds.
struct BackendKind: ExpressibleByArgument, Hashable, Sendable {
    let rawValue: String

    init?(rawValue: String) {
        guard Backends.kinds.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    init?(argument: String) { self.init(rawValue: argument) }

    static var allValueStrings: [String] { Backends.kinds }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
    var defaultValueDescription: String { rawValue }

    /// The default backend, and the one that may serve the config's `certificates:` and `leases:`.
    static let local = BackendKind(rawValue: "local")!
    static let vault = BackendKind(rawValue: "vault")!
}
