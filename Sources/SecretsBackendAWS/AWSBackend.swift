import ArgumentParser
import SecretsBackendKit
import SecretsCore

/// AWS Secrets Manager (`--backend aws`) and SSM Parameter Store (`--backend ssm`): one signer, one
/// credential chain, one set of flags.
public enum AWSBackend: Backend {
    public static let kinds = ["aws", "ssm"]
    public static let heading = "AWS Secrets Manager and SSM Parameter Store"
    public static let options: [OptionSpec] = [
        .awsRegion, .awsEndpoint, .awsProfile, .awsPrefix, .ssmPrefix, .jsonFields,
    ]
    /// What the chain reads a secret from: the keys, the session token, the container's token.
    public static let credentialVariables = [
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ]

    public struct Flags: ParsableArguments, Sendable {
        public init() {}
        @Option(name: .option(.awsRegion), help: .option(.awsRegion)) public var awsRegion: String?
        @Option(name: .option(.awsEndpoint), help: .option(.awsEndpoint)) public var awsEndpoint: String?
        @Option(name: .option(.awsProfile), help: .option(.awsProfile)) public var awsProfile: String?
        @Option(name: .option(.awsPrefix), help: .option(.awsPrefix)) public var awsPrefix: String?
        @Option(name: .option(.ssmPrefix), help: .option(.ssmPrefix)) public var ssmPrefix: String?
        @Option(name: .option(.jsonFields), help: .option(.jsonFields)) public var jsonFields: JSONFields?

        /// Each flag's value in the field of the same meaning; the store fills what is left from the
        /// variables it declares (`AWSOptions.Environment`) and the shared config files.
        var options: AWSOptions {
            var aws = AWSOptions()
            aws.region = awsRegion
            aws.endpoint = awsEndpoint
            aws.profile = awsProfile
            aws.prefix = awsPrefix
            aws.expandJSONFields = jsonFields.map { $0 == .expand }
            aws.ssmPrefix = ssmPrefix
            return aws
        }
    }

    public enum JSONFields: String, ExpressibleByArgument, CaseIterable, Sendable {
        case raw, expand
    }

    public static func connect(_ kind: String, flags: Flags, context: BackendContext) async throws -> ConnectedBackend {
        var options = flags.options
        options.timeout = context.timeout
        if kind == "ssm" {
            let store = try await SSMParameterStore.connect(
                options: options, environment: context.environment, homeDirectory: context.homeDirectory,
                logger: context.logger, clock: context.clock)
            return ConnectedBackend(store: store) { _ in [store.credentialRefresh] }
        }
        let store = try await AWSSecretStore.connect(
            options: options, environment: context.environment, homeDirectory: context.homeDirectory,
            logger: context.logger, clock: context.clock)
        return ConnectedBackend(
            store: store, services: { _ in [store.credentialRefresh] },
            scheduleRotation: { try await store.setRotationSchedule($0, every: $1, lambdaARN: $2) })
    }
}

extension OptionSpec {
    public static let awsRegion = OptionSpec(
        "aws-region", environment: AWSOptions.Environment.region, help: "AWS region")
    public static let awsEndpoint = OptionSpec(
        "aws-endpoint", environment: AWSOptions.Environment.endpoint,
        help: "Secrets Manager or SSM endpoint", note: "ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL")
    public static let awsProfile = OptionSpec(
        "aws-profile", environment: AWSOptions.Environment.profile, help: "Shared config profile")
    public static let awsPrefix = OptionSpec("aws-prefix", help: "Name prefix shown at the root")
    public static let ssmPrefix = OptionSpec("ssm-prefix", help: "ssm: parameter path shown at the root")
    public static let jsonFields = OptionSpec(
        "json-fields", help: "raw: a JSON SecretString is one file; expand: a folder of fields")
}
