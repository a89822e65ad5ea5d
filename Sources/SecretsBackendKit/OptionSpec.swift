import ArgumentParser

/// One option that every subcommand (`BackendOptions`) or `mount` takes. Its name is the long flag, the
/// config file's key and the mount helper's `-o` key alike; `environment` lists the variables that
/// stand in for it, in the order they are tried, when the flag is absent. The argument parser's
/// property for the option takes its name and help from here, and the config file and `-o` read
/// their keys and kinds from here, so an option is declared in one place: a backend's in its own
/// target (its `Backend.options`), the others in the command line's table (a test checks that the
/// parser and the table agree on every flag, in order).
///
/// Not swift-configuration's `ConfigReader`: its YAML provider refuses the file's `policy:` list of
/// mappings and drops the line of each key that our errors name instead of the value, and its
/// conversions would be a second parser of each value beside the argument parser, which also checks
/// a config file's values (`ConfigValueCheck`).
public struct OptionSpec: Sendable, Hashable {
    public enum Kind: Sendable {
        /// `--name VALUE`; in the file, a scalar.
        case value
        /// `--name VALUE`, repeatable; in the file, a value or a list of values.
        case list
        /// `--name` alone; in the file, `true` or `false`.
        case flag
    }

    public enum Scope: Sendable {
        case everyCommand
        case mountOnly
    }

    public let name: String
    public let environment: [String]
    public let kind: Kind
    public let scope: Scope
    /// Whether a config file may hold it: `--config` names the file itself.
    public let inConfigFile: Bool
    /// Tuning a first reader does not need: left out of `--help`, shown by `--help-hidden`.
    public let folded: Bool
    /// Its value names a file the daemon reads: a mount refuses one inside its own mountpoint.
    public let readsFile: Bool
    /// Its variables hold a credential itself (`VAULT_TOKEN`), not a path: taken out of every
    /// environment a program inherits, and never read as a file's name.
    public let credentialInEnvironment: Bool
    /// What `--help` says; the variables, `defaultText` and `note` follow in parentheses.
    private let summary: String
    /// The default as a user would type it, read off the value the option defaults to; only for an
    /// option whose property has none, since the parser prints a property's own default itself.
    private let defaultText: String?
    private let note: String?
    /// Words for the variables where "env: NAME" would mislead.
    private let environmentText: String?

    public init(
        _ name: String, _ kind: Kind = .value, _ scope: Scope = .everyCommand, environment: [String] = [],
        inConfigFile: Bool = true, folded: Bool = false, readsFile: Bool = false,
        credentialInEnvironment: Bool = false, help summary: String, defaultText: String? = nil,
        note: String? = nil, environmentText: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.scope = scope
        self.environment = environment
        self.inConfigFile = inConfigFile
        self.folded = folded
        self.readsFile = readsFile
        self.credentialInEnvironment = credentialInEnvironment
        self.summary = summary
        self.defaultText = defaultText
        self.note = note
        self.environmentText = environmentText
    }

    /// As typed on the command line: `--cache-ttl`, `-o`.
    public var flag: String { name.count == 1 ? "-\(name)" : "--\(name)" }

    public var help: ArgumentHelp {
        var notes: [String] = []
        if let environmentText {
            notes.append(environmentText)
        } else if !environment.isEmpty {
            notes.append("env: " + environment.joined(separator: ", "))
        }
        if let defaultText { notes.append("default " + defaultText) }
        if let note { notes.append(note) }
        return ArgumentHelp(
            notes.isEmpty ? summary + "." : "\(summary) (\(notes.joined(separator: "; "))).",
            visibility: folded ? FoldedHelp.visibility : .default)
    }

    /// The first of its variables that is set (even to nothing), as the config file yields to it.
    public func value(in environment: [String: String]) -> String? {
        self.environment.lazy.compactMap { environment[$0] }.first
    }
}

extension NameSpecification {
    public static func option(_ spec: OptionSpec) -> NameSpecification {
        spec.name.count == 1 ? .customShort(Character(spec.name)) : .customLong(spec.name)
    }
}

extension ArgumentHelp {
    public static func option(_ spec: OptionSpec) -> ArgumentHelp { spec.help }
}

/// Where the flags a first reader does not need are shown: each backend's, and `mount`'s tuning. A
/// subcommand's `--help` leaves them out (they made `get --help` 83 lines and `mount --help` 77);
/// `secretsfs help backends` and `--help-hidden` show them. The completion scripts and man pages are
/// made from the parser's dump, which keeps them, so that `--vault-<TAB>` completes and
/// `man secretsfs-get` lists every flag.
public enum FoldedHelp {
    public static var visibility: ArgumentVisibility {
        let documenting = CommandLine.arguments.contains {
            $0 == "--experimental-dump-help" || $0.hasPrefix("--generate-completion-script")
        }
        return documenting ? .default : .hidden
    }
}
