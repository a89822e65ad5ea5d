import SecretsCore

/// What the command line says about the AWS backend; nil means "not given", so the environment and
/// the shared config files may fill it in.
public struct AWSOptions: Sendable {
    /// `--aws-region`, else AWS_REGION, AWS_DEFAULT_REGION, else the profile's `region`.
    public var region: String?
    /// `--aws-endpoint`, else AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, else the regional endpoint.
    public var endpoint: String?
    /// `--aws-profile`, else AWS_PROFILE, else `default`.
    public var profile: String?
    /// `--aws-prefix`: the folder of secret names shown at the mount's root (`team/app` shows
    /// `team/app/db` as `db`).
    public var prefix: String?
    /// `--json-fields expand`: a SecretString holding a flat JSON object of strings is a folder of fields.
    public var expandJSONFields: Bool?
    /// The deadline of one backend call, retries included; `BackendTimeout.standard` by default, and
    /// refused when not above zero.
    public var timeout: Duration?
    /// `--ssm-prefix` (SSM Parameter Store): the parameter path shown at the mount's root.
    public var ssmPrefix: String?

    public init() {}

    /// The variables that stand in for an option the command line leaves out, in the order they are
    /// tried (an empty one counts as unset, as the SDKs treat it); read from here by the command line's
    /// option table.
    public enum Environment {
        public static let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        public static let endpoint = ["AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"]
        public static let ssmEndpoint = ["AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL"]
        public static let profile = ["AWS_PROFILE"]
    }
}

/// The options after flags, environment and profile have been weighed; what the store runs on.
struct ResolvedAWSConfiguration: Sendable {
    var region: String
    var endpoint: Endpoint
    var profile: String
    /// Whether the profile was asked for by name (flag or AWS_PROFILE): then it must exist.
    var profileExplicit: Bool
    var prefix: [String]
    var expandJSONFields: Bool
    var timeout: Duration
    var files: SharedConfigFiles

    static func resolve(
        _ options: AWSOptions, environment: [String: String], homeDirectory: String,
        service: AWSService = .secretsManager
    ) throws(SecretError) -> ResolvedAWSConfiguration {
        func env(_ names: [String]) -> String? { names.lazy.compactMap { environment[$0].nonEmpty }.first }
        let explicitProfile = options.profile.nonEmpty ?? env(AWSOptions.Environment.profile)
        let profile = explicitProfile ?? "default"
        let files = try SharedConfigFiles.load(environment: environment, homeDirectory: homeDirectory)

        let region =
            options.region.nonEmpty ?? env(AWSOptions.Environment.region)
            ?? files.configValue("region", profile: profile).nonEmpty
        guard let region else {
            // A profile asked for by name that does not exist is the cause; "no region" would hide it.
            if explicitProfile != nil, !files.hasProfile(profile) {
                throw SecretError(
                    .configuration,
                    "AWS profile '\(profile)' is in neither \(files.credentialsPath) nor \(files.configPath)")
            }
            throw SecretError(
                .configuration,
                "no AWS region: pass --aws-region, set AWS_REGION, or set region in the '\(profile)' profile")
        }
        guard region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw SecretError(.configuration, "AWS region '\(region)' is not a region name")
        }

        let ssm = service.signingName == AWSService.parameterStore.signingName
        let endpointText =
            options.endpoint.nonEmpty
            ?? env(ssm ? AWSOptions.Environment.ssmEndpoint : AWSOptions.Environment.endpoint)
            ?? "https://\(service.signingName).\(region).amazonaws.com"
        let endpoint = try Endpoint(parsing: endpointText, what: "AWS endpoint")

        var prefix: [String] = []
        let (prefixText, prefixFlag) = ssm ? (options.ssmPrefix, "--ssm-prefix") : (options.prefix, "--aws-prefix")
        if var text = prefixText.nonEmpty {
            // Parameter paths start with `/`; the prefix may be written either way.
            if ssm { while text.hasPrefix("/") { text.removeFirst() } }
            do {
                prefix = text.isEmpty ? [] : try SecretPath(text).segments
            } catch {
                throw SecretError(.configuration, "\(prefixFlag) is not a valid path: \(error.message)")
            }
        }

        let timeout = try BackendTimeout.resolve(options.timeout)

        return ResolvedAWSConfiguration(
            region: region, endpoint: endpoint, profile: profile, profileExplicit: explicitProfile != nil,
            prefix: prefix, expandJSONFields: options.expandJSONFields ?? false, timeout: timeout, files: files)
    }
}

extension Optional where Wrapped == String {
    /// The string when it holds something: an empty variable counts as unset, as the SDKs treat it.
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
