import ArgumentParser
import Foundation
import SecretsCore

/// Exit codes, from sysexits.h where one fits, so scripts can tell failures apart.
enum ExitStatus {
    static let failure = ExitCode(1)
    static let notFound = ExitCode(2)
    static let usage = ExitCode(64)
    static let unavailable = ExitCode(69)
    static let permissionDenied = ExitCode(77)
    static let configuration = ExitCode(78)
    /// As shells answer a program they cannot run (found but not executable) or cannot find.
    static let cannotExecute = ExitCode(126)
    static let commandNotFound = ExitCode(127)

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

/// `exec`'s program did not start: named with the reason, and the status a shell would give.
struct ProgramStartError: Error, CustomStringConvertible {
    var program: String
    var errno: Int32

    var description: String { "cannot start \(program): \(String(cString: strerror(errno)))" }

    var exitCode: ExitCode { errno == ENOENT ? ExitStatus.commandNotFound : ExitStatus.cannotExecute }
}

/// `mount --daemon`'s daemon failed: its own line and status, passed on unchanged.
struct DaemonFailure: Error {
    var status: Int32
    var line: String
}
