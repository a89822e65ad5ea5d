import Foundation
import Logging
import SecretsCore

@testable import SecretsBackendLocal

/// A fresh folder per test, removed afterwards; the store file lives a few folders down so the
/// test also sees the folders the store creates.
struct TemporaryFolder {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/secretsfs-local-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    var storePath: String { root + "/data/secretsfs/secrets.db" }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "secretsfs.tests.local")
    logger.logLevel = .warning
    return logger
}()

/// Opens a store on a new file, runs `body`, then shuts the store down and removes the folder.
func withTemporaryStore<T>(
    clock: any TimeSource = SystemTimeSource(),
    _ body: (LocalSecretStore, TemporaryFolder) async throws -> T
) async throws -> T {
    let folder = try TemporaryFolder()
    defer { folder.remove() }
    let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger, clock: clock)
    do {
        let result = try await body(store, folder)
        await store.shutdown()
        return result
    } catch {
        await store.shutdown()
        throw error
    }
}

func value(of secret: Secret) -> SecretValue? {
    if case .value(let value) = secret.content { return value }
    return nil
}
