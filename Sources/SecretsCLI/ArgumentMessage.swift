import Foundation

/// The argument parser's messages, and our own `validate()` messages, rewritten to name an
/// argument but never quote its value (DESIGN 5.1): `put app/x hunter2` must not print `hunter2`,
/// nor `--cache-ttl hunter2` print it back. The parser's error types are not public, so its
/// messages are matched by their wording, and anything it quotes that a user typed is cut.
enum ArgumentMessage {
    static func withoutValues(_ message: String, arguments: [String]) -> String {
        var message = message
        for (pattern, template) in rewrites {
            message = pattern.stringByReplacingMatches(
                in: message, range: NSRange(message.startIndex..., in: message), withTemplate: template)
        }
        for value in typedValues(arguments) {
            message = message.replacingOccurrences(of: "'\(value)'", with: "(a value)")
            // Unquoted, only a word long enough to be a secret: `--refresh-interval 0` keeps "more than 0".
            if value.count >= minimumUnquoted { message = replacingWord(value, in: message) }
        }
        return message
    }

    static let minimumUnquoted = 4

    /// Each pattern's value part is dropped; `$n` keep the argument's name and any list of choices.
    private static let rewrites: [(NSRegularExpression, String)] = [
        // The parser's nearest name is --vault-role; a token has its own ways in.
        (
            #"^Unknown option '--vault-token'.*$"#,
            "Unknown option '--vault-token': give the token in VAULT_TOKEN or a file named by --vault-token-file"
        ),
        (#"^The value '.*' is invalid for '([^']*)'(\. Please provide one of .*)?(:.*)?$"#, "invalid value for $1$2"),
        (#"^The value '.*' is invalid\.(.*)$"#, "invalid value$1"),
        (
            #"^Unexpected argument '.*'$"#,
            "unexpected argument, not shown as it may be a value (a secret goes on stdin, never in argv)"
        ),
        (#"^(\d+) unexpected arguments: '.*'$"#, "$1 unexpected arguments, not shown as they may be values"),
        (#"^The option '([^']*)' does not take any value, but '.*' was specified\.$"#, "$1 takes no value"),
    ].map { (try! NSRegularExpression(pattern: $0.0, options: [.dotMatchesLineSeparators]), $0.1) }

    /// What a user typed that is not a subcommand or an option's name: positional words and the
    /// values of options, `--name=value` ones included.
    static func typedValues(_ arguments: [String]) -> Set<String> {
        var values: Set<String> = []
        for word in arguments where !word.isEmpty {
            if word.hasPrefix("-") {
                if let equals = word.firstIndex(of: "=") { values.insert(String(word[word.index(after: equals)...])) }
            } else if !ArgumentRewriter.subcommands.contains(word) {
                values.insert(word)
            }
        }
        values.remove("")
        return values
    }

    /// `value` where it stands as a word of its own, not inside another (`db` in `--field` stays).
    private static func replacingWord(_ value: String, in message: String) -> String {
        let escaped = NSRegularExpression.escapedPattern(for: value)
        guard let pattern = try? NSRegularExpression(pattern: #"(?<![\w./-])"# + escaped + #"(?![\w/-])"#) else {
            return message
        }
        return pattern.stringByReplacingMatches(
            in: message, range: NSRange(message.startIndex..., in: message), withTemplate: "(a value)")
    }
}
