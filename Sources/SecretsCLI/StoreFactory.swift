import Foundation
import Logging
import SecretsBackendAWS
import SecretsBackendEnv
import SecretsBackendLocal
import SecretsBackendVault
import SecretsCore
import ServiceLifecycle

/// Builds the store the options name. The one place where backends are chosen and wired: each flag's
/// value goes to the backend's field of the same meaning, and the backend fills what is left from the
/// variables it declares (`VaultOptions.Environment`, `AWSOptions.Environment`) and its defaults.
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
                let kinds = BackendKind.allCases.map(\.rawValue).joined(separator: ", ")
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

    /// What must run beside `store` for as long as it serves (token renewal, credential refresh,
    /// certificate renewal); a mount runs these in its `ServiceGroup`, so they stop on graceful shutdown.
    /// A certificate is re-issued through `cache`, so the new one replaces what it holds and its
    /// change events are raised, as for a rotation.
    static func backgroundServices(
        of store: any SecretStore, cache: CachingSecretStore? = nil, clock: any TimeSource = SystemTimeSource()
    ) -> [any Service] {
        if let vault = store as? VaultSecretStore {
            guard let cache else { return [vault.tokenRenewal] }
            // The store issues the certificate or makes the credential itself: the generated value is not used.
            let renew: @Sendable (SecretPath) async throws -> Void = { path in
                _ = try await cache.rotate(RotationRequest(path: path) { SecretValue(bytes: [UInt8]()) })
            }
            var services: [any Service] = [vault.tokenRenewal]
            if let certificates = vault.certificates {
                services.append(VaultCertificateRenewal(certificates: certificates, clock: clock, reissue: renew))
            }
            if let leases = vault.leases {
                services.append(
                    LeasesRenewal(leases: leases, clock: clock, replace: renew) { path in await cache.invalidate(path) }
                )
            }
            return services
        }
        if let aws = store as? AWSSecretStore { return [aws.credentialRefresh] }
        if let ssm = store as? SSMParameterStore { return [ssm.credentialRefresh] }
        return []
    }

    /// The local store's file, absolute, so `.status` names it wherever the daemon's working folder is.
    func localStorePath() -> String {
        let path =
            options.store ?? OptionSpec.store.value(in: environment)
            ?? LocalSecretStore.defaultPath(environment: environment, homeDirectory: homeDirectory)
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The local store's key, when a key file is named; an empty variable counts as unset.
    func storeKey() throws -> StoreKey? {
        guard let file = options.storeKeyFile ?? OptionSpec.storeKeyFile.value(in: environment), !file.isEmpty else {
            return nil
        }
        return try StoreKey.load(file: file)
    }

    func makeStore() async throws -> any SecretStore {
        switch try checkedBackendKind() {
        case .local:
            return try await LocalSecretStore.open(path: localStorePath(), logger: logger, key: storeKey())
        case .env:
            return EnvSecretStore(environment: environment, prefix: options.envPrefix, includeGlobs: options.envInclude)
        case .vault:
            var vault = VaultOptions()
            // Repeated, or a list in the config file: every address, in order.
            vault.address = options.vaultAddr.isEmpty ? nil : options.vaultAddr.joined(separator: ",")
            vault.tokenFile = options.vaultTokenFile
            vault.namespace = options.vaultNamespace
            vault.mount = options.vaultMount
            vault.kvVersion = options.vaultKVVersion
            vault.prefix = options.vaultPrefix
            vault.auth = options.vaultAuth
            vault.roleID = options.vaultRoleID
            vault.secretIDFile = options.vaultSecretIDFile
            vault.role = options.vaultRole
            vault.jwtFile = options.vaultJWTFile
            vault.authMount = options.vaultAuthMount
            vault.caCertFile = options.vaultCACert
            vault.skipVerify = options.vaultSkipVerify ? true : nil
            vault.timeout = options.backendTimeout?.duration
            vault.startUnreachable = replacingWorker
            vault.certificates = certificates
            vault.leases = leases
            return try await VaultSecretStore.connect(
                options: vault, environment: environment, homeDirectory: homeDirectory, logger: logger, clock: clock)
        case .aws, .ssm:
            var aws = AWSOptions()
            aws.region = options.awsRegion
            aws.endpoint = options.awsEndpoint
            aws.profile = options.awsProfile
            aws.prefix = options.awsPrefix
            aws.expandJSONFields = options.jsonFields.map { $0 == .expand }
            aws.timeout = options.backendTimeout?.duration
            aws.ssmPrefix = options.ssmPrefix
            if try backendKind() == .ssm {
                return try await SSMParameterStore.connect(
                    options: aws, environment: environment, homeDirectory: homeDirectory, logger: logger,
                    clock: clock)
            }
            return try await AWSSecretStore.connect(
                options: aws, environment: environment, homeDirectory: homeDirectory, logger: logger, clock: clock)
        }
    }
}
