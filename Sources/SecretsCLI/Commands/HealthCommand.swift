import ArgumentParser
import Logging
import SecretsBackendKit
import SecretsCore

struct HealthCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Check that the backend answers; exit 0 when it does.")

    @OptionGroup var backend: BackendOptions

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let report = await store.health()
        let name = "\(store.descriptor.backend) \(store.descriptor.address)"
        guard report.healthy else { throw SecretError(.unavailable, "\(name): unhealthy: \(report.detail)") }
        printLine("\(name): healthy")
    }
}
