import ArgumentParser
import SecretsCore

/// A secret path from argv, checked in `validate()` rather than by the argument parser: the parser's
/// message for a value it refuses quotes the whole value, which may be a pasted secret, and never says
/// which rule it broke ("name longer than 255 bytes").
struct PathArgument: ExpressibleByArgument, Sendable {
    let path: SecretPath
    private let problem: SecretError?

    init(argument: String) {
        do {
            path = try SecretPath(argument)
            problem = nil
        } catch {
            path = .root
            problem = error
        }
    }

    init(_ path: SecretPath) {
        self.path = path
        problem = nil
    }

    /// Throws the rule the argument broke as a usage error, for a command's `validate()`.
    func check() throws {
        if let problem { throw ValidationError(problem.message) }
    }

    var defaultValueDescription: String { path.description }
}
