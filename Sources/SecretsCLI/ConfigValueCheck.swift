import ArgumentParser

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
