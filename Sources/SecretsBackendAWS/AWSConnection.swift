import Logging
import SecretsCore
import SecretsHTTP

/// What every AWS store stands on: the options weighed for its service, one HTTP layer, and the
/// SDKs' credential chain with credentials fetched once, so a missing or broken credential source is
/// reported at start, not at the first read.
struct AWSConnection {
    let configuration: ResolvedAWSConfiguration
    let http: HTTPLayer
    let credentials: CredentialChain

    static func open(
        options: AWSOptions, service: AWSService, environment: [String: String], homeDirectory: String,
        logger: Logger, clock: any TimeSource
    ) async throws -> AWSConnection {
        let configuration = try ResolvedAWSConfiguration.resolve(
            options, environment: environment, homeDirectory: homeDirectory, service: service)
        let http = HTTPLayer(
            service: "AWS", client: HTTPClientSetup.makeClient(callTimeout: configuration.timeout, http1Only: true),
            clock: clock, logger: logger)
        do {
            let providers = try standardCredentialProviders(
                configuration: configuration, environment: environment, homeDirectory: homeDirectory,
                http: http, logger: logger)
            let chain = CredentialChain(
                providers: providers, clock: clock, timeout: configuration.timeout, logger: logger)
            _ = try await chain.current()
            return AWSConnection(configuration: configuration, http: http, credentials: chain)
        } catch {
            await http.shutdown()
            throw error
        }
    }
}
