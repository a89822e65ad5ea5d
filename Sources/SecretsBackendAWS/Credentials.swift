import AWSSigV4
import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// Credentials as a provider hands them out: the signing key, when it stops working, and which
/// provider it came from (for logs and `.status`; never the key itself).
struct AWSCredentials: Sendable, CustomStringConvertible {
    var signing: SigV4Credentials
    var expiration: Date?
    var source: String

    var description: String { "credentials from \(source)" }
}

/// One place credentials can come from, in the order the AWS SDKs try them.
protocol CredentialProvider: Sendable {
    /// A short name for logs: `environment`, `web-identity`, `shared-file`, `container`, `instance-metadata`.
    var name: String { get }

    /// Fresh credentials; nil when this provider is not set up here, so the chain moves on. Throws
    /// when it is set up but fails (a bad token file, STS unreachable): the SDKs stop there too.
    /// `deadline` is on the HTTP layer's clock.
    func load(deadline: Duration) async throws -> AWSCredentials?
}

/// The SDKs' chain: the first provider that answers is kept for the life of the store, and its
/// credentials are fetched again shortly before they expire (or when AWS says they have).
actor CredentialChain {
    private let providers: [any CredentialProvider]
    private let logger: Logger
    private let timeout: Duration
    private let clock: any TimeSource
    private var chosen: (any CredentialProvider)?
    private var cached: AWSCredentials?
    private var refreshing: Task<AWSCredentials, any Error>?

    /// Refresh this long before expiry, so a request signed now is still valid when it arrives.
    static let refreshMargin: TimeInterval = 5 * 60

    init(
        providers: [any CredentialProvider], clock: any TimeSource, timeout: Duration, logger: Logger
    ) {
        self.providers = providers
        self.clock = clock
        self.timeout = timeout
        self.logger = logger
    }

    /// Which provider the credentials come from, once resolved.
    var source: String? { chosen?.name }

    func current() async throws -> AWSCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        if let refreshing { return try await refreshing.value }
        // Detached: every reader shares it and it may outlive the one that started it, so that
        // reader's deadline (`CallDeadline`) must not stand in for its own.
        let task = Task.detached { try await self.fetch() }
        refreshing = task
        defer { refreshing = nil }
        do {
            let fresh = try await task.value
            cached = fresh
            return fresh
        } catch {
            // A refresh that fails while the old credentials still work is not yet a failure.
            if let cached, let expiration = cached.expiration, expiration > clock.wallNow() {
                logger.warning(
                    "refreshing AWS credentials failed; using the current ones until they expire",
                    metadata: ["source": "\(cached.source)", "error": "\(SecretError.from(error))"])
                return cached
            }
            throw error
        }
    }

    /// The credentials in hand, without fetching any.
    var cachedCredentials: AWSCredentials? { cached }

    /// How long until the credentials in hand are due for a refresh: zero when none are in hand, nil
    /// when they never expire (keys from the environment or a file).
    func untilRefresh() -> Duration? {
        guard let cached else { return .zero }
        guard let expiration = cached.expiration else { return nil }
        let seconds = expiration.timeIntervalSince(clock.wallNow()) - Self.refreshMargin
        return seconds > 0 ? .milliseconds(Int64(seconds * 1000)) : .zero
    }

    /// Forgets the cached credentials; the next `current()` asks the provider again.
    func invalidate() {
        cached = nil
    }

    private func needsRefresh(_ credentials: AWSCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return clock.wallNow().addingTimeInterval(Self.refreshMargin) >= expiration
    }

    private func fetch() async throws -> AWSCredentials {
        let deadline = clock.monotonicNow() + timeout
        if let chosen {
            guard let credentials = try await chosen.load(deadline: deadline) else {
                throw SecretError(.unavailable, "AWS credentials from \(chosen.name) are not available now")
            }
            return credentials
        }
        for provider in providers {
            if let credentials = try await provider.load(deadline: deadline) {
                chosen = provider
                logger.info("using AWS credentials", metadata: ["source": "\(provider.name)"])
                return credentials
            }
        }
        throw SecretError(
            .configuration,
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE "
                + "and AWS_ROLE_ARN, a profile in the shared credentials file, or run where container or instance "
                + "credentials are served")
    }
}

/// The standard chain for `environment`: environment, web identity, shared files, container, instance metadata.
func standardCredentialProviders(
    configuration: ResolvedAWSConfiguration,
    environment: [String: String],
    homeDirectory: String,
    http: HTTPLayer,
    logger: Logger
) throws(SecretError) -> [any CredentialProvider] {
    var providers: [any CredentialProvider] = [EnvironmentCredentialProvider(environment: environment)]
    if let webIdentity = try WebIdentityCredentialProvider(
        environment: environment, region: configuration.region, http: http, logger: logger)
    {
        providers.append(webIdentity)
    }
    providers.append(
        SharedFileCredentialProvider(
            profile: configuration.profile, profileExplicit: configuration.profileExplicit, environment: environment,
            homeDirectory: homeDirectory))
    if let container = try ContainerCredentialProvider(environment: environment, http: http, logger: logger) {
        providers.append(container)
    }
    if let instance = try InstanceMetadataCredentialProvider(
        environment: environment, http: http, logger: logger)
    {
        providers.append(instance)
    }
    return providers
}
