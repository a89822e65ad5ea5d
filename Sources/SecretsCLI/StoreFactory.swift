import Foundation
import Logging
import SecretsBackendKit
import SecretsBackendLocal
import SecretsBackendVault
import SecretsCore

/// Builds the store the options name: the registry's backend for `--backend`, connected with its own
/// flags and what every backend is given (`BackendContext`). The one place where a backend is chosen.
struct StoreFactory {
    var options: BackendOptions
    var environment: [String: String]
    var logger: Logger
    /// A worker replacing another: a backend that cannot be reached is not fatal, the cache it
    /// inherited serves until the backend answers.
    var replacingWorker = false
    /// What the HTTP backends time their deadlines, retries, renewal and refresh on.
    var clock: any TimeSource = SystemTimeSource()
    /// `certificates:` of the config, which only the Vault backend can issue.
    var certificates: [VaultCertificateRequest] = []
    /// `leases:` of the config, which only the Vault backend can make.
    var leases: [VaultLeaseRequest] = []

    var homeDirectory: String { environment["HOME"] ?? NSHomeDirectory() }

    func backendKind() throws(SecretError) -> BackendKind {
        if let kind = options.backend { return kind }
        if let name = OptionSpec.backendKind.value(in: environment) {
            guard let kind = BackendKind(rawValue: name) else {
                let variable = OptionSpec.backendKind.environment[0]
                let kinds = Backends.kinds.joined(separator: ", ")
                throw SecretError(.configuration, "\(variable)=\(name) is not one of \(kinds)")
            }
            return kind
        }
        return .local
    }

    /// The backend, refused when the config asks for what it cannot do.
    func checkedBackendKind() throws(SecretError) -> BackendKind {
        let kind = try backendKind()
        if !certificates.isEmpty, kind != .vault {
            throw SecretError(
                .configuration,
                "'certificates' in the config needs --backend vault (Vault's PKI engine issues them); "
                    + "the backend is \(kind.rawValue)")
        }
        if !leases.isEmpty, kind != .vault {
            throw SecretError(
                .configuration,
                "'leases' in the config needs --backend vault (Vault's secrets engines make them); "
                    + "the backend is \(kind.rawValue)")
        }
        return kind
    }

    /// The local store's file, absolute, so `.status` names it wherever the daemon's working folder is.
    func localStorePath() -> String {
        LocalBackend.storePath(options.backends.local, environment: environment, homeDirectory: homeDirectory)
    }

    /// The local store's key, when a key file is named; an empty variable counts as unset.
    func storeKey() throws -> StoreKey? { try LocalBackend.storeKey(options.backends.local, environment: environment) }

    /// The store the options name, connected, and the services that must run beside it.
    func connect() async throws -> ConnectedBackend {
        let kind = try checkedBackendKind()
        guard let backend = Backends.named(kind) else {
            throw SecretError(.configuration, "no backend is registered for \(kind.rawValue)")
        }
        let context = BackendContext(
            environment: environment, homeDirectory: homeDirectory, logger: logger, clock: clock,
            timeout: options.backendTimeout?.duration, startUnreachable: replacingWorker,
            declared: certificates.map { $0 as any Sendable } + leases.map { $0 as any Sendable })
        return try await backend.connect(kind.rawValue, options.backends, context)
    }

    func makeStore() async throws -> any SecretStore { try await connect().store }
}
