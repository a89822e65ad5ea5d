import ArgumentParser
import Logging
import SecretsCore

/// The backend flags every subcommand takes (DESIGN section 2). Flags win over environment
/// variables, which win over the config file. No flag takes a token or secret id: `ps` shows argv.
public struct BackendOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(help: "YAML file whose keys are these flags' names (env: SECRETSFS_CONFIG); flags and environment win.")
    var config: String?

    @Option(help: "Backend: local, env, vault or aws (env: SECRETSFS_BACKEND; default local).")
    var backend: BackendKind?

    @Option(help: "Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).")
    var store: String?

    @Option(name: .customLong("env-prefix"), help: "env: only variables with this prefix are shown.")
    var envPrefix: String?

    @Option(name: .customLong("env-include"), help: "env: also show variables matching this glob (repeatable).")
    var envInclude: [String] = []

    @Option(name: .customLong("vault-addr"), help: "Vault address (env: VAULT_ADDR).")
    var vaultAddr: String?
    @Option(
        name: .customLong("vault-token-file"),
        help: "File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).")
    var vaultTokenFile: String?
    @Option(name: .customLong("vault-namespace"), help: "Vault namespace (env: VAULT_NAMESPACE).")
    var vaultNamespace: String?
    @Option(name: .customLong("vault-mount"), help: "KV v2 mount (default secret).")
    var vaultMount: String?
    @Option(name: .customLong("vault-prefix"), help: "Sub-path of the KV mount shown at the root.")
    var vaultPrefix: String?
    @Option(name: .customLong("vault-auth"), help: "Vault auth: token, approle, jwt or kubernetes.")
    var vaultAuth: String?
    @Option(name: .customLong("vault-role-id"), help: "AppRole role id.")
    var vaultRoleID: String?
    @Option(name: .customLong("vault-secret-id-file"), help: "File holding the AppRole secret id.")
    var vaultSecretIDFile: String?
    @Option(name: .customLong("vault-role"), help: "Role for jwt and kubernetes auth.")
    var vaultRole: String?
    @Option(name: .customLong("vault-jwt-file"), help: "File holding the JWT (kubernetes: the service-account token).")
    var vaultJWTFile: String?
    @Option(name: .customLong("vault-auth-mount"), help: "Mount path of the auth method.")
    var vaultAuthMount: String?
    @Option(name: .customLong("vault-cacert"), help: "CA certificate file for Vault's TLS (env: VAULT_CACERT).")
    var vaultCACert: String?
    @Flag(
        name: .customLong("vault-skip-verify"), help: "Do not verify Vault's TLS certificate (env: VAULT_SKIP_VERIFY).")
    var vaultSkipVerify = false

    @Option(name: .customLong("aws-region"), help: "AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).")
    var awsRegion: String?
    @Option(
        name: .customLong("aws-endpoint"),
        help: "Secrets Manager endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL).")
    var awsEndpoint: String?
    @Option(name: .customLong("aws-profile"), help: "Shared config profile (env: AWS_PROFILE).")
    var awsProfile: String?
    @Option(name: .customLong("aws-prefix"), help: "Name prefix shown at the root.")
    var awsPrefix: String?
    @Option(name: .customLong("json-fields"), help: "raw: a JSON SecretString is one file; expand: a folder of fields.")
    var jsonFields: JSONFields?

    @Option(name: .customLong("backend-timeout"), help: "Deadline of each backend call (default 5s).")
    var backendTimeout: DurationArgument?

    @Option(
        name: .customLong("log-level"),
        help: "trace, debug, info, notice, warning, error or critical (default error; mount: info).")
    var logLevel: Logger.Level?

    @Option(name: .customLong("log-format"), help: "text or json.")
    var logFormat: LineLogHandler.Format = .text

    public func validate() throws {
        // A zero deadline fails every call before it is sent: the mount would answer every read with EIO.
        if let backendTimeout, backendTimeout.duration <= .zero {
            throw ValidationError("--backend-timeout must be more than 0 (e.g. 5s)")
        }
    }
}

enum BackendKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case local, env, vault, aws
}

enum JSONFields: String, ExpressibleByArgument, CaseIterable, Sendable {
    case raw, expand
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LineLogHandler.Format: ExpressibleByArgument {}

/// `30`, `30s`, `5m`, `24h`, as `DurationParser` reads them.
struct DurationArgument: ExpressibleByArgument, Sendable {
    let duration: Duration

    init?(argument: String) {
        guard let duration = try? DurationParser.parse(argument) else { return nil }
        self.duration = duration
    }

    init(_ duration: Duration) { self.duration = duration }

    /// As a user would type it, for `help`: `300s`, `24h`, `250ms`.
    var defaultValueDescription: String {
        let (seconds, attoseconds) = duration.components
        if attoseconds != 0 { return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000)ms" }
        if seconds != 0, seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        return "\(seconds)s"
    }
}

/// A permission mode in octal: `0400`, `440`.
struct ModeArgument: ExpressibleByArgument, Sendable {
    let mode: UInt16

    init?(argument: String) {
        guard let mode = UInt16(argument, radix: 8), mode <= 0o7777 else { return nil }
        self.mode = mode
    }
}

extension PasswordGenerator {
    /// The same bounds, the same words, for every flag that sets a rotation's length.
    static func checkLength(_ length: Int, flag: String) throws {
        let range = allowedLengths
        if !range.contains(length) {
            throw ValidationError("\(flag) must be from \(range.lowerBound) to \(range.upperBound)")
        }
    }
}
