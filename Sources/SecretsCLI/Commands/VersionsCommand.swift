import ArgumentParser
import Foundation
import Logging
import SecretsCore

struct VersionsCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions", abstract: "List a secret's versions, oldest first: id, created, labels.")

    @Argument(help: "Secret path.") var path: SecretPath
    @OptionGroup var backend: BackendOptions

    func run(store: any SecretStore, logger: Logger) async throws {
        for version in try await store.versions(of: path) {
            let created = version.createdAt.map(Timestamp.iso8601) ?? "-"
            printLine([version.id, created, version.labels.joined(separator: ",")].joined(separator: "\t"))
        }
    }
}
