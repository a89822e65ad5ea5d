import ArgumentParser
import Foundation
import Logging
import SecretsBackendKit
import SecretsCore

struct VersionsCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions", abstract: "List a secret's versions, oldest first: id, created, labels.")

    @Argument(help: "Secret path.") var path: PathArgument
    @OptionGroup var backend: BackendOptions

    func validate() throws { try path.check() }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        for version in try await store.versions(of: path.path) {
            let created = version.createdAt.map(Timestamp.iso8601) ?? "-"
            printLine([version.id, created, version.labels.joined(separator: ",")].joined(separator: "\t"))
        }
    }
}
