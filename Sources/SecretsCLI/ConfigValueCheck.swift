import ArgumentParser
import SecretsCore

/// Checks a value of the config file as the command line would take it, so that a bad one is reported
/// by its place in the file. The argument parser's own message quotes the value, and a config file may
/// hold a secret pasted into the wrong line by mistake.
enum ConfigValueCheck {
    /// Nil when `flag value` is taken; else why not, in words that never hold the value (empty when the
    /// only words there are quote it).
    static func problem(_ option: OptionSpec, arguments: [String]) -> String? {
        do {
            if option.scope == .mountOnly {
                // A mountpoint is required to parse at all; this one is never looked at.
                _ = try MountCommand.parse(["/"] + arguments)
            } else {
                _ = try BackendOptions.parse(arguments)
            }
            return nil
        } catch {
            let message = MountCommand.message(for: error)
            let quotes = arguments.dropFirst().contains { !$0.isEmpty && message.contains($0) }
            return quotes || message.hasPrefix("The value") ? "" : message
        }
    }
}

extension ConfigValueCheck {
    /// The error for a key the file may not hold at `place`. The key is quoted only when it looks
    /// like one: a line garbled into a key (`password hunter2:`) may carry a secret.
    static func unknownKey(_ name: String?, at place: String) -> SecretError {
        guard let name, looksLikeKey(name) else {
            return SecretError(.configuration, "\(place): unknown key (not shown: it does not look like a key name)")
        }
        return SecretError(.configuration, "\(place): unknown key '\(name)'")
    }

    private static func looksLikeKey(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.utf8.count <= 40 else {
            return false
        }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }
}
