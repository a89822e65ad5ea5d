import ArgumentParser
import Logging
import SecretsCore

struct GetCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a secret's value on stdout, bytes exactly.")

    @Argument(help: "Secret path, e.g. openai/api_key, or db/password for a field.") var path: PathArgument
    @Option(help: "A version id instead of the current value.") var version: String?
    @OptionGroup var backend: BackendOptions

    func validate() throws { try path.check() }

    func run(store: any SecretStore, logger: Logger) async throws {
        let value = try await readValue(store, path.path, version: version)
        value.withUnsafeBytes { writeStdout($0) }
    }
}
