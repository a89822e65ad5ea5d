import ArgumentParser
import Foundation
import Logging
import SecretsBackendKit
import SecretsCore

struct PutCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Write a new version from stdin (or --from-file); never from argv.")

    @Argument(help: "Secret path.") var path: PathArgument
    @Option(name: .customLong("from-file"), help: "Read the value from this file instead of stdin.") var fromFile:
        String?
    @Option(help: "Set this field of a multi-field secret, keeping the others.") var field: String?
    @Flag(help: "Replace a multi-field secret whole with this one value (without it, such a secret needs --field).")
    var replace = false
    @Option(name: .customLong("rotate-every"), help: "aws: rotate on this schedule (e.g. 30d), with --rotation-lambda.")
    var rotateEvery: DurationArgument?
    @Option(name: .customLong("rotation-lambda"), help: "aws: ARN of the Lambda that rotates the secret.")
    var rotationLambda: String?
    @OptionGroup var backend: BackendOptions

    func validate() throws {
        try path.check()
        if let field, !SecretPath.isValidSegment(field) {
            throw ValidationError("--field: not a valid field name (empty, starting with '.', or holding '/')")
        }
        if replace && field != nil { throw ValidationError("--replace and --field cannot be used together") }
        if (rotateEvery == nil) != (rotationLambda == nil) {
            throw ValidationError("--rotate-every and --rotation-lambda go together")
        }
    }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let path = path.path
        var bytes = try readInput()
        guard !bytes.isEmpty else { throw SecretError(.invalidArgument, "empty value: nothing written") }
        let value = SecretValue(zeroing: &bytes)
        var content = SecretContent.value(value)
        if field == nil, !replace {
            // One value over {username, password, port} would lose the other fields.
            do {
                if case .fields(let fields) = try await store.read(path).content {
                    throw SecretError(
                        .invalidArgument,
                        "\(path) has fields (\(fields.keys.sorted().joined(separator: ", "))): name one with --field, "
                            + "or replace the whole secret with --replace; nothing written")
                }
            } catch let error as SecretError where error.code == .notFound {
            } catch let error as SecretError where error.code == .permissionDenied {
                // A write-only token: what is there cannot be checked, so the user says what is meant.
                throw SecretError(
                    .permissionDenied,
                    "cannot read \(path) to check it for fields; give --replace to write it whole; nothing written")
            }
        }
        if let field {
            var fields: [String: SecretValue] = [:]
            do {
                fields = try await store.read(path).content.asMap
            } catch let error as SecretError where error.code == .notFound {}
            fields[field] = value
            content = .fields(fields)
        }
        var schedule: (@Sendable (SecretPath, Duration, String) async throws -> Void, Duration, String)?
        if let every = rotateEvery?.duration, let lambda = rotationLambda {
            guard let scheduleRotation = connected.scheduleRotation else {
                throw SecretError(.unsupported, "--rotate-every needs --backend aws")
            }
            schedule = (scheduleRotation, every, lambda)
        }
        let version = try await store.write(path, content: content)
        printLine("wrote \(path) version \(version.id)")
        if let (scheduleRotation, every, lambda) = schedule {
            try await scheduleRotation(path, every, lambda)
            printLine("rotation of \(path) scheduled every \(Int(every.seconds / 86_400)) days")
        }
    }

    private func readInput() throws -> [UInt8] {
        if let fromFile {
            guard let data = FileManager.default.contents(atPath: fromFile) else {
                throw SecretError(.invalidArgument, "cannot read \(fromFile)")
            }
            return [UInt8](data)
        }
        return [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }
}
