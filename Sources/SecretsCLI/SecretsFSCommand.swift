import ArgumentParser
import Foundation
import Logging
import SecretsBackendKit
import SecretsCore
import SecretsFUSE
import SecretsSupervision

/// `secretsfs`: the root command. Errors end as one line on stderr and a named exit code.
public struct SecretsFSCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "secretsfs",
        abstract: "Secrets from a secret store, as read-only files.",
        discussion: """
            secretsfs --version prints the version; secretsfs help backends, each backend's flags. \
            secretsfs check takes mount's arguments and checks them without mounting.
            """,
        subcommands: [
            MountCommand.self, CheckCommand.self, UnmountCommand.self, GetCommand.self, LsCommand.self,
            VersionsCommand.self, PutCommand.self, RotateCommand.self, RenderCommand.self, HealthCommand.self,
            StatusCommand.self,
            ReloadCommand.self,
            StoreCommandGroup.self, ExecCommand.self, CSICommand.self, BackendsHelpCommand.self,
        ]
    )

    public init() {}

    public static func main() async {
        let given = Array(CommandLine.arguments.dropFirst())
        // Read here, not by the parser: neither `CommandConfiguration(version:)` nor a root flag
        // would leave `get --version ID` to `get`.
        if given == ["--version"] {
            printLine(SecretsFSVersion.string)
            return
        }
        var argv = given
        do {
            argv = try ArgumentRewriter.rewrite(given, environment: ProcessInfo.processInfo.environment)
            var command = try parseAsRoot(argv)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as SecretError {
            fail(error.description, ExitStatus.code(for: error))
        } catch let error as ProgramStartError {
            fail(error.description, error.exitCode)
        } catch let error as DaemonFailure {
            fail(error.line, ExitCode(error.status))
        } catch {
            // Help and --version are "errors" that exit 0 and print what was asked for.
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            fail(usageLine(for: error, arguments: given + argv), code == .validationFailure ? ExitStatus.usage : code)
        }
    }

    /// The parser's (or a `validate()`'s) complaint as one line that quotes nothing typed.
    static func usageLine(for error: any Error, arguments: [String]) -> String {
        let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(type(of: error))"
        return ArgumentMessage.withoutValues(
            message.replacingOccurrences(of: "Error: ", with: ""), arguments: arguments)
    }

    static func fail(_ message: String, _ code: ExitCode) -> Never {
        DaemonReadiness.reportFailure(message, status: code.rawValue)
        WorkerChannel.from(ProcessInfo.processInfo.environment)?.tell(.error(message))
        FileHandle.standardError.write(Data("secretsfs: \(message)\n".utf8))
        Foundation.exit(code.rawValue)
    }
}

/// A subcommand that talks to one store.
protocol StoreCommand: AsyncParsableCommand {
    var backend: BackendOptions { get }
    /// Runs with the connected backend: its store, and what it offers beyond reads and writes.
    func run(connected: ConnectedBackend, logger: Logger) async throws
}

extension StoreCommand {
    func run() async throws {
        // The thrown error is the one line a user sees; warnings would repeat it.
        let logger = bootstrapLogging(backend, defaultLevel: .error)
        let factory = StoreFactory(options: backend, environment: ProcessInfo.processInfo.environment, logger: logger)
        let connected = try await factory.connect()
        do {
            try await run(connected: connected, logger: logger)
            await connected.store.shutdown()
        } catch {
            await connected.store.shutdown()
            throw error
        }
    }
}

func bootstrapLogging(_ options: BackendOptions, defaultLevel: Logger.Level) -> Logger {
    let level = options.logLevel ?? defaultLevel
    let format = options.logFormat
    LoggingSystem.bootstrap { label in LineLogHandler(label: label, level: level, format: format) }
    return Logger(label: "secretsfs")
}

/// Reads `path`, or when it names a field of a multi-field secret, that field.
func readValue(_ store: any SecretStore, _ path: SecretPath, version: String?) async throws -> SecretValue {
    do {
        let secret = try await store.read(path, version: version)
        switch secret.content {
        case .value(let value): return value
        case .fields(let fields):
            throw SecretError(
                .invalidArgument, "\(path) has fields (\(fields.keys.sorted().joined(separator: ", "))); name one")
        }
    } catch let error as SecretError where error.code == .notFound {
        guard let parent = path.parent, !parent.isRoot,
            let secret = try? await store.read(parent, version: version),
            case .fields(let fields) = secret.content, let value = fields[path.name]
        else { throw error.at(path) }
        return value
    }
}

func writeStdout(_ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let written = Foundation.write(1, bytes.baseAddress! + offset, bytes.count - offset)
        if written <= 0 { return }
        offset += written
    }
}

func printLine(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { writeStdout(UnsafeRawBufferPointer($0)) }
}
