import ArgumentParser
import Logging
import SecretsBackendKit
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
    /// Each backend's flags, under its heading (the registry's `BackendFlagGroups`).
    @OptionGroup(visibility: FoldedHelp.visibility) var backends: BackendFlagGroups

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
    }
}

/// `secretsfs help backends`: each backend's flags under its heading, as every subcommand takes them.
struct BackendsHelpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends", abstract: "The flags of each backend; every subcommand takes them.",
        usage: "secretsfs <subcommand> [--backend \(Backends.kinds.joined(separator: "|"))] [<backend flags>]",
        shouldDisplay: false)

    @OptionGroup var backends: BackendFlagGroups

    func run() throws { print(Self.helpMessage(), terminator: "") }
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
