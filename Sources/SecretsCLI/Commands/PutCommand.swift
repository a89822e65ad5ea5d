import ArgumentParser
import Foundation
import Logging
import SecretsCore

struct PutCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Write a new version from stdin (or --from-file); never from argv.")

    @Argument(help: "Secret path.") var path: SecretPath
    @Option(name: .customLong("from-file"), help: "Read the value from this file instead of stdin.") var fromFile: String?
    @Option(help: "Set this field of a multi-field secret, keeping the others.") var field: String?
    @OptionGroup var backend: BackendOptions

    func validate() throws {
        if let field, !SecretPath.isValidSegment(field) { throw ValidationError("'\(field)' is not a valid field name") }
    }

    func run(store: any SecretStore, logger: Logger) async throws {
        var bytes = try readInput()
        guard !bytes.isEmpty else { throw SecretError(.invalidArgument, "empty value: nothing written") }
        let value = SecretValue(zeroing: &bytes)
        var content = SecretContent.value(value)
        if let field {
            var fields: [String: SecretValue] = [:]
            do {
                fields = try await store.read(path).content.asMap
            } catch let error as SecretError where error.code == .notFound {}
            fields[field] = value
            content = .fields(fields)
        }
        let version = try await store.write(path, content: content)
        printLine("wrote \(path) version \(version.id)")
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
