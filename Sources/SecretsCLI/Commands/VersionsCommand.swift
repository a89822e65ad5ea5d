import ArgumentParser
import Foundation
import Logging
import SecretsCore

struct VersionsCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions", abstract: "List a secret's versions, oldest first: id, created, labels.")

    @Argument(help: "Secret path.") var path: PathArgument
    @OptionGroup var backend: BackendOptions

    func validate() throws { try path.check() }

    func run(store: any SecretStore, logger: Logger) async throws {
        for version in try await store.versions(of: path.path) {
            let created = version.createdAt.map(Timestamp.iso8601) ?? "-"
            printLine([version.id, created, version.labels.joined(separator: ",")].joined(separator: "\t"))
        }
    }
}
