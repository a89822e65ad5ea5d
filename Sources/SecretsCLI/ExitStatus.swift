import ArgumentParser
import SecretsCore

/// Exit codes, from sysexits.h where one fits, so scripts can tell failures apart.
enum ExitStatus {
    static let failure = ExitCode(1)
    static let notFound = ExitCode(2)
    static let usage = ExitCode(64)
    static let unavailable = ExitCode(69)
    static let permissionDenied = ExitCode(77)
    static let configuration = ExitCode(78)

    static func code(for error: SecretError) -> ExitCode {
        switch error.code {
        case .notFound: return notFound
        case .permissionDenied: return permissionDenied
        case .unavailable: return unavailable
        case .configuration: return configuration
        case .invalidArgument, .nameTooLong: return usage
        default: return failure
        }
    }
}
