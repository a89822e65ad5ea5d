import ArgumentParser
import Logging
import SecretsBackendKit
import SecretsCore

struct GetCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a secret's value on stdout, bytes exactly.")

    @Argument(help: "Secret path, e.g. openai/api_key, or db/password for a field.") var path: PathArgument
    @Option(help: "A version id, or a label that `versions` shows (current, previous), instead of the current value.")
    var version: String?
    @OptionGroup var backend: BackendOptions

    func validate() throws { try path.check() }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let value = try await readValue(store, path.path, version: try await versionID(in: store))
        value.withUnsafeBytes { writeStdout($0) }
    }

    /// `versions` prints labels beside ids, but only AWS reads by label itself: a label is turned
    /// into the id it points at here. A field's versions are its secret's.
    private func versionID(in store: any SecretStore) async throws -> String? {
        guard let version else { return nil }
        for candidate in [path.path, path.path.parent].compactMap({ $0 }) where !candidate.isRoot {
            guard let versions = try? await store.versions(of: candidate) else { continue }
            if versions.contains(where: { $0.id == version }) { return version }
            if let labelled = versions.last(where: { $0.labels.contains(version) }) { return labelled.id }
        }
        return version
    }
}
