import ArgumentParser
import Logging
import SecretsCore
import SecretsSupervision

/// The backend flags every subcommand takes (DESIGN section 2); names, variables and help come from
/// `OptionSpec`. Flags win over environment variables, which win over the config file. No flag takes
/// a token or secret id: `ps` shows argv. Each backend's own flags are a group under its heading:
/// left out of a subcommand's `--help`, shown by `secretsfs help backends` (`BackendsHelpCommand`).
public struct BackendOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .option(.config), help: .option(.config)) var config: String?
    @Option(name: .option(.backendKind), help: .option(.backendKind)) var backend: BackendKind?
    @OptionGroup(title: LocalFlags.heading, visibility: FoldedHelp.visibility) var local: LocalFlags
    @OptionGroup(title: EnvFlags.heading, visibility: FoldedHelp.visibility) var env: EnvFlags
    @OptionGroup(title: VaultFlags.heading, visibility: FoldedHelp.visibility) var vault: VaultFlags
    @OptionGroup(title: AWSFlags.heading, visibility: FoldedHelp.visibility) var aws: AWSFlags

    @Option(name: .option(.backendTimeout), help: .option(.backendTimeout)) var backendTimeout: DurationArgument?

    @Option(name: .option(.logLevel), help: .option(.logLevel)) var logLevel: Logger.Level?
    @Option(name: .option(.logFormat), help: .option(.logFormat)) var logFormat: LineLogHandler.Format = .text

    public func validate() throws {
        // The backends refuse the same deadlines with the same words; here it is a usage error (exit 64).
        do {
            _ = try BackendTimeout.resolve(backendTimeout?.duration)
        } catch {
            throw ValidationError(error.message)
        }
        if let version = vaultKVVersion, ![1, 2].contains(version) {
            throw ValidationError("--vault-kv-version must be 1 or 2")
        }
    }
}

/// Where the flags a first reader does not need are shown: each backend's, and `mount`'s tuning. A
/// subcommand's `--help` leaves them out (they made `get --help` 83 lines and `mount --help` 77);
/// `secretsfs help backends` and `--help-hidden` show them. The completion scripts and man pages are
/// made from the parser's dump, which keeps them, so that `--vault-<TAB>` completes and
/// `man secretsfs-get` lists every flag.
enum FoldedHelp {
    static var visibility: ArgumentVisibility {
        let documenting = CommandLine.arguments.contains {
            $0 == "--experimental-dump-help" || $0.hasPrefix("--generate-completion-script")
        }
        return documenting ? .default : .hidden
    }
}

struct LocalFlags: ParsableArguments, Sendable {
    static let heading = "Local store"
    @Option(name: .option(.store), help: .option(.store)) var store: String?
    @Option(name: .option(.storeKeyFile), help: .option(.storeKeyFile)) var storeKeyFile: String?
}

struct EnvFlags: ParsableArguments, Sendable {
    static let heading = "Environment variables"
    @Option(name: .option(.envPrefix), help: .option(.envPrefix)) var envPrefix: String?
    @Option(name: .option(.envInclude), help: .option(.envInclude)) var envInclude: [String] = []
}

struct VaultFlags: ParsableArguments, Sendable {
    static let heading = "Vault and OpenBao"
    @Option(name: .option(.vaultAddr), help: .option(.vaultAddr)) var vaultAddr: [String] = []
    @Option(name: .option(.vaultTokenFile), help: .option(.vaultTokenFile)) var vaultTokenFile: String?
    @Option(name: .option(.vaultNamespace), help: .option(.vaultNamespace)) var vaultNamespace: String?
    @Option(name: .option(.vaultMount), help: .option(.vaultMount)) var vaultMount: String?
    @Option(name: .option(.vaultKVVersion), help: .option(.vaultKVVersion)) var vaultKVVersion: Int?
    @Option(name: .option(.vaultPrefix), help: .option(.vaultPrefix)) var vaultPrefix: String?
    @Option(name: .option(.vaultAuth), help: .option(.vaultAuth)) var vaultAuth: String?
    @Option(name: .option(.vaultRoleID), help: .option(.vaultRoleID)) var vaultRoleID: String?
    @Option(name: .option(.vaultSecretIDFile), help: .option(.vaultSecretIDFile)) var vaultSecretIDFile: String?
    @Option(name: .option(.vaultRole), help: .option(.vaultRole)) var vaultRole: String?
    @Option(name: .option(.vaultJWTFile), help: .option(.vaultJWTFile)) var vaultJWTFile: String?
    @Option(name: .option(.vaultAuthMount), help: .option(.vaultAuthMount)) var vaultAuthMount: String?
    @Option(name: .option(.vaultCACert), help: .option(.vaultCACert)) var vaultCACert: String?
    @Flag(name: .option(.vaultSkipVerify), help: .option(.vaultSkipVerify)) var vaultSkipVerify = false
}

struct AWSFlags: ParsableArguments, Sendable {
    static let heading = "AWS Secrets Manager and SSM Parameter Store"
    @Option(name: .option(.awsRegion), help: .option(.awsRegion)) var awsRegion: String?
    @Option(name: .option(.awsEndpoint), help: .option(.awsEndpoint)) var awsEndpoint: String?
    @Option(name: .option(.awsProfile), help: .option(.awsProfile)) var awsProfile: String?
    @Option(name: .option(.awsPrefix), help: .option(.awsPrefix)) var awsPrefix: String?
    @Option(name: .option(.ssmPrefix), help: .option(.ssmPrefix)) var ssmPrefix: String?
    @Option(name: .option(.jsonFields), help: .option(.jsonFields)) var jsonFields: JSONFields?
}

/// The groups' flags by their old names, so the code that reads them does not care where help shows them.
extension BackendOptions {
    var store: String? { local.store }
    var storeKeyFile: String? { local.storeKeyFile }
    var envPrefix: String? { env.envPrefix }
    var envInclude: [String] { env.envInclude }
    var vaultAddr: [String] { vault.vaultAddr }
    var vaultTokenFile: String? { vault.vaultTokenFile }
    var vaultNamespace: String? { vault.vaultNamespace }
    var vaultMount: String? { vault.vaultMount }
    var vaultKVVersion: Int? { vault.vaultKVVersion }
    var vaultPrefix: String? { vault.vaultPrefix }
    var vaultAuth: String? { vault.vaultAuth }
    var vaultRoleID: String? { vault.vaultRoleID }
    var vaultSecretIDFile: String? { vault.vaultSecretIDFile }
    var vaultRole: String? { vault.vaultRole }
    var vaultJWTFile: String? { vault.vaultJWTFile }
    var vaultAuthMount: String? { vault.vaultAuthMount }
    var vaultCACert: String? { vault.vaultCACert }
    var vaultSkipVerify: Bool { vault.vaultSkipVerify }
    var awsRegion: String? { aws.awsRegion }
    var awsEndpoint: String? { aws.awsEndpoint }
    var awsProfile: String? { aws.awsProfile }
    var awsPrefix: String? { aws.awsPrefix }
    var ssmPrefix: String? { aws.ssmPrefix }
    var jsonFields: JSONFields? { aws.jsonFields }
}

/// `secretsfs help backends`: each backend's flags under its heading, as every subcommand takes them.
struct BackendsHelpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends", abstract: "The flags of each backend; every subcommand takes them.",
        usage: "secretsfs <subcommand> [--backend local|env|vault|aws|ssm] [<backend flags>]",
        shouldDisplay: false)

    @OptionGroup(title: LocalFlags.heading) var local: LocalFlags
    @OptionGroup(title: EnvFlags.heading) var env: EnvFlags
    @OptionGroup(title: VaultFlags.heading) var vault: VaultFlags
    @OptionGroup(title: AWSFlags.heading) var aws: AWSFlags

    func run() throws { print(Self.helpMessage(), terminator: "") }
}

enum BackendKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case local, env, vault, aws, ssm
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

/// A share of something, as a percentage (`10%`) or a fraction (`0.1`), from 0 to 1.
struct FractionArgument: ExpressibleByArgument, Sendable {
    let fraction: Double

    init?(argument: String) {
        let percent = argument.hasSuffix("%")
        guard let number = Double(percent ? String(argument.dropLast()) : argument), number.isFinite else { return nil }
        let fraction = percent ? number / 100 : number
        guard (0...1).contains(fraction) else { return nil }
        self.fraction = fraction
    }

    init(_ fraction: Double) { self.fraction = fraction }

    var defaultValueDescription: String { "\(Int((fraction * 100).rounded()))%" }
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
