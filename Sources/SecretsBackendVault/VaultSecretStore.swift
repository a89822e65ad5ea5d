import Logging
import SecretsCore

/// HashiCorp Vault (or OpenBao) as a secret store: a KV mount (`VaultKVStore`, KV v1 or v2), and over it
/// the folders of `certificates:` and `leases:` when the config declares any (`DeclaredFoldersStore`).
/// Call `shutdown()` before dropping the store: it owns an HTTP client.
public final class VaultSecretStore: SecretStore {
    public var descriptor: StoreDescriptor { served.descriptor }
    private let served: any SecretStore
    /// Token renewal, to run for as long as the store is used (the mount's `ServiceGroup` runs it).
    public let tokenRenewal: VaultTokenRenewal
    /// The PKI certificates the store shows as folders (`certificates:`); nil when there are none.
    public let certificates: VaultCertificates?
    /// The dynamic credentials the store shows as folders (`leases:`); nil when there are none.
    public let leases: VaultLeases?

    private init(
        kv: VaultKVStore, tokenRenewal: VaultTokenRenewal, certificates: VaultCertificates?, leases: VaultLeases?
    ) {
        self.tokenRenewal = tokenRenewal
        self.certificates = certificates
        self.leases = leases
        // Leases first, as a lease's folder is checked before a certificate's.
        let sources: [any DeclaredFolderSource] = [leases as (any DeclaredFolderSource)?, certificates].compactMap {
            $0
        }
        self.served = sources.isEmpty ? kv : DeclaredFoldersStore(upstream: kv, sources: sources)
    }

    /// Resolves options against `environment` (flags win over env), logs in, and checks the token (lookup-self).
    /// Configuration problems throw SecretError(.configuration, "one clear sentence") naming the missing/bad
    /// option, never a token.
    public static func connect(
        options: VaultOptions,
        environment: [String: String],
        homeDirectory: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource()
    ) async throws -> VaultSecretStore {
        let configuration = try VaultConfiguration.resolve(
            options, environment: environment, homeDirectory: homeDirectory)
        var logger = logger
        logger[metadataKey: "backend"] = "vault"
        let client = try VaultClient(configuration: configuration, clock: clock, logger: logger)
        let auth = VaultAuth(method: configuration.auth, client: client, clock: clock, logger: logger)
        do {
            try await auth.start()
        } catch let failure where failure.code == .unavailable && options.startUnreachable {
            logger.warning(
                "Vault is unreachable; serving what the cache holds until it answers",
                metadata: ["reason": "\(failure.message)"])
            await auth.startWhenReachable()
        } catch {
            await auth.shutdown()
            await client.shutdown()
            throw error
        }
        var kvVersion = configuration.kvVersion
        if kvVersion == nil, await auth.problem() == nil {
            do {
                kvVersion = try await VaultKVStore.askKVVersion(
                    client: client, auth: auth, mount: configuration.mount, logger: logger)
            } catch let failure where failure.code == .unavailable && options.startUnreachable {
                kvVersion = nil
            } catch {
                await auth.shutdown()
                await client.shutdown()
                throw error
            }
        }
        logger.info(
            "Connected to Vault",
            metadata: [
                "address": "\(configuration.displayAddress)", "auth": "\(configuration.auth.name)",
                "kv_version": "\(kvVersion.map(String.init) ?? "not known yet")",
            ])
        let access = VaultKVAccess(
            client: client, auth: auth, mount: configuration.mount, prefix: configuration.prefix, logger: logger)
        let certificates = options.certificates
        let leases = options.leases
        return VaultSecretStore(
            kv: VaultKVStore(access: access, displayAddress: configuration.displayAddress, kvVersion: kvVersion),
            tokenRenewal: VaultTokenRenewal(auth: auth, clock: clock),
            certificates: certificates.isEmpty
                ? nil : VaultCertificates(certificates, client: client, auth: auth, clock: clock, logger: logger),
            leases: leases.isEmpty
                ? nil : VaultLeases(leases, client: client, auth: auth, clock: clock, logger: logger))
    }

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await served.read(path, version: version)
    }

    public func list(_ folder: SecretPath) async throws -> Listing { try await served.list(folder) }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] { try await served.versions(of: path) }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try await served.write(path, content: content)
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult { try await served.rotate(request) }

    public func health() async -> HealthReport { await served.health() }

    /// Stops token renewal and closes connections. The store is not used afterwards.
    public func shutdown() async { await served.shutdown() }
}
