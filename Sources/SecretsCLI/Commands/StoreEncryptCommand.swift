import ArgumentParser
import Foundation
import SecretsBackendLocal
import SecretsCore

/// `secretsfs store …`: what is done to the local store's file itself.
struct StoreCommandGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Manage the local store's file.", subcommands: [StoreEncryptCommand.self])
}

struct StoreEncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt",
        abstract: "Encrypt a plain local store in place with the key of --store-key-file, in one transaction.")

    @OptionGroup var backend: BackendOptions

    func run() async throws {
        let logger = bootstrapLogging(backend, defaultLevel: .error)
        let factory = StoreFactory(options: backend, environment: ProcessInfo.processInfo.environment, logger: logger)
        guard try factory.backendKind() == .local else {
            throw SecretError(.configuration, "store encrypt works on the local store (--backend local)")
        }
        guard let key = try factory.storeKey() else {
            throw SecretError(.configuration, "store encrypt needs the key: --store-key-file or SECRETSFS_STORE_KEY_FILE")
        }
        let path = factory.localStorePath()
        let count = try await LocalSecretStore.encrypt(path: path, key: key, logger: logger)
        printLine("encrypted \(count) versions in \(path)")
    }
}
