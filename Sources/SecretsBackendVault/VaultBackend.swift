import ArgumentParser
import SecretsBackendKit
import SecretsCore
import ServiceLifecycle

/// Vault and OpenBao as the command line selects them (`--backend vault`).
public enum VaultBackend: Backend {
    public static let kinds = ["vault"]
    public static let heading = "Vault and OpenBao"
    public static let options: [OptionSpec] = [
        .vaultAddr, .vaultTokenFile, .vaultNamespace, .vaultMount, .vaultKVVersion, .vaultPrefix, .vaultAuth,
        .vaultRoleID, .vaultSecretIDFile, .vaultRole, .vaultJWTFile, .vaultAuthMount, .vaultCACert, .vaultSkipVerify,
    ]

    public struct Flags: ParsableArguments, Sendable {
        public init() {}
        @Option(name: .option(.vaultAddr), help: .option(.vaultAddr)) public var vaultAddr: [String] = []
        @Option(name: .option(.vaultTokenFile), help: .option(.vaultTokenFile)) public var vaultTokenFile: String?
        @Option(name: .option(.vaultNamespace), help: .option(.vaultNamespace)) public var vaultNamespace: String?
        @Option(name: .option(.vaultMount), help: .option(.vaultMount)) public var vaultMount: String?
        @Option(name: .option(.vaultKVVersion), help: .option(.vaultKVVersion)) public var vaultKVVersion: Int?
        @Option(name: .option(.vaultPrefix), help: .option(.vaultPrefix)) public var vaultPrefix: String?
        @Option(name: .option(.vaultAuth), help: .option(.vaultAuth)) public var vaultAuth: String?
        @Option(name: .option(.vaultRoleID), help: .option(.vaultRoleID)) public var vaultRoleID: String?
        @Option(name: .option(.vaultSecretIDFile), help: .option(.vaultSecretIDFile))
        public var vaultSecretIDFile: String?
        @Option(name: .option(.vaultRole), help: .option(.vaultRole)) public var vaultRole: String?
        @Option(name: .option(.vaultJWTFile), help: .option(.vaultJWTFile)) public var vaultJWTFile: String?
        @Option(name: .option(.vaultAuthMount), help: .option(.vaultAuthMount)) public var vaultAuthMount: String?
        @Option(name: .option(.vaultCACert), help: .option(.vaultCACert)) public var vaultCACert: String?
        @Flag(name: .option(.vaultSkipVerify), help: .option(.vaultSkipVerify)) public var vaultSkipVerify = false

        public func validate() throws {
            if let version = vaultKVVersion, ![1, 2].contains(version) {
                throw ValidationError("--vault-kv-version must be 1 or 2")
            }
        }

        /// What the store is connected with: each flag's value in the field of the same meaning; the
        /// store fills what is left from the variables it declares (`VaultOptions.Environment`).
        var options: VaultOptions {
            var vault = VaultOptions()
            // Repeated, or a list in the config file: every address, in order.
            vault.address = vaultAddr.isEmpty ? nil : vaultAddr.joined(separator: ",")
            vault.tokenFile = vaultTokenFile
            vault.namespace = vaultNamespace
            vault.mount = vaultMount
            vault.kvVersion = vaultKVVersion
            vault.prefix = vaultPrefix
            vault.auth = vaultAuth
            vault.roleID = vaultRoleID
            vault.secretIDFile = vaultSecretIDFile
            vault.role = vaultRole
            vault.jwtFile = vaultJWTFile
            vault.authMount = vaultAuthMount
            vault.caCertFile = vaultCACert
            vault.skipVerify = vaultSkipVerify ? true : nil
            return vault
        }
    }

    public static func connect(_ kind: String, flags: Flags, context: BackendContext) async throws -> ConnectedBackend {
        var options = flags.options
        options.timeout = context.timeout
        options.startUnreachable = context.startUnreachable
        options.certificates = context.declared.compactMap { $0 as? VaultCertificateRequest }
        options.leases = context.declared.compactMap { $0 as? VaultLeaseRequest }
        let store = try await VaultSecretStore.connect(
            options: options, environment: context.environment, homeDirectory: context.homeDirectory,
            logger: context.logger, clock: context.clock)
        let clock = context.clock
        let certificates = store.certificates.map { certificates in
            MadeFolders(paths: Array(certificates.requests.keys)) { await certificates.statuses() }
        }
        let services: @Sendable (CacheHooks) -> [any Service] = { cache in
            var services: [any Service] = [store.tokenRenewal]
            if let certificates = store.certificates {
                services.append(
                    VaultCertificateRenewal(certificates: certificates, clock: clock, reissue: cache.replace))
            }
            if let leases = store.leases {
                services.append(
                    LeasesRenewal(leases: leases, clock: clock, replace: cache.replace, expire: cache.invalidate))
            }
            return services
        }
        return ConnectedBackend(store: store, services: services, certificates: certificates, leases: store.leases)
    }
}

extension OptionSpec {
    public static let vaultAddr = OptionSpec(
        "vault-addr", .list, environment: VaultOptions.Environment.address,
        help: "Vault address; an HA cluster's nodes comma-separated or repeated, tried in order")
    public static let vaultTokenFile = OptionSpec(
        "vault-token-file", environment: VaultOptions.Environment.token, readsFile: true,
        credentialInEnvironment: true, help: "File holding the Vault token",
        environmentText: "else \(VaultOptions.Environment.token.joined(separator: ", ")), else ~/.vault-token")
    public static let vaultNamespace = OptionSpec(
        "vault-namespace", environment: VaultOptions.Environment.namespace, help: "Vault namespace")
    public static let vaultMount = OptionSpec(
        "vault-mount", help: "KV v2 mount", defaultText: VaultOptions.defaultMount)
    public static let vaultKVVersion = OptionSpec(
        "vault-kv-version", help: "KV engine version of the mount, 1 or 2", defaultText: "asked of Vault")
    public static let vaultPrefix = OptionSpec("vault-prefix", help: "Sub-path of the KV mount shown at the root")
    public static let vaultAuth = OptionSpec("vault-auth", help: "Vault auth: token, approle, jwt or kubernetes")
    public static let vaultRoleID = OptionSpec("vault-role-id", help: "AppRole role id")
    public static let vaultSecretIDFile = OptionSpec(
        "vault-secret-id-file", readsFile: true, help: "File holding the AppRole secret id")
    public static let vaultRole = OptionSpec("vault-role", help: "Role for jwt and kubernetes auth")
    public static let vaultJWTFile = OptionSpec(
        "vault-jwt-file", readsFile: true, help: "File holding the JWT (kubernetes: the service-account token)")
    public static let vaultAuthMount = OptionSpec("vault-auth-mount", help: "Mount path of the auth method")
    public static let vaultCACert = OptionSpec(
        "vault-cacert", environment: VaultOptions.Environment.caCertFile, readsFile: true,
        help: "CA certificate file for Vault's TLS")
    public static let vaultSkipVerify = OptionSpec(
        "vault-skip-verify", .flag, environment: VaultOptions.Environment.skipVerify,
        help: "Do not verify Vault's TLS certificate")
}
