import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendLocal

/// The file on disk: where it goes, its modes, what survives a reopen, what a bad file does.
@Suite struct LocalStoreFileTests {
    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int ?? -1) & 0o777
    }

    @Test func createsThePrivateFileAndFolders() async throws {
        try await withTemporaryStore { store, folder throws in
            #expect(try mode(folder.storePath) == 0o600)
            #expect(try mode(folder.root + "/data") == 0o700)
            #expect(try mode(folder.root + "/data/secretsfs") == 0o700)
            #expect(store.descriptor.backend == "local")
            #expect(store.descriptor.address == folder.storePath)
            #expect(store.descriptor.capabilities == [.versions, .write, .rotate])
        }
    }

    @Test func dataSurvivesAReopen() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try SecretPath("app/token")
        let first = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        _ = try await first.write(path, content: .value(SecretValue(string: "one")))
        _ = try await first.write(path, content: .value(SecretValue(bytes: [0xff, 0x00])))
        await first.shutdown()

        let second = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        let secret = try await second.read(path)
        #expect(secret.version == "2")
        #expect(value(of: secret)?.copyBytes() == [0xff, 0x00])
        #expect(try await value(of: second.read(path, version: "1")) == SecretValue(string: "one"))
        #expect(try await second.versions(of: path).map(\.id) == ["1", "2"])
        await second.shutdown()
    }

    @Test func aGarbageFileIsAClearErrorNotACrash() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.root + "/garbage.db"
        let garbage = Array(repeating: Array("not-a-database-GARBAGE-MARKER ".utf8), count: 200).flatMap { $0 }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))
        do {
            let store = try await LocalSecretStore.open(path: path, logger: testLogger)
            await store.shutdown()
            Issue.record("opening a garbage file succeeded")
        } catch let error as SecretError {
            #expect(error.code == .malformedResponse)
            #expect(error.description.contains("not a secretsfs database"))
            #expect(error.description.contains(path))
            #expect(!error.description.contains("GARBAGE-MARKER"))
        }
    }

    @Test func aFileFromANewerSchemaIsRefused() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        _ = try await store.query("test", "PRAGMA user_version = 99", [])
        await store.shutdown()
        await #expect(throws: SecretError.self) {
            let reopened = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
            await reopened.shutdown()
        }
        do {
            let reopened = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
            await reopened.shutdown()
        } catch let error as SecretError {
            #expect(error.code == .configuration)
        }
    }

    @Test func aPathThatIsAFolderIsAConfigurationError() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let code = await errorCode {
            let store = try await LocalSecretStore.open(path: folder.root, logger: testLogger)
            await store.shutdown()
        }
        #expect(code == .configuration)
    }

    @Test func defaultPathFollowsXDG() {
        #expect(
            LocalSecretStore.defaultPath(environment: ["XDG_DATA_HOME": "/xdg/data"], homeDirectory: "/home/u")
                == "/xdg/data/secretsfs/secrets.db")
        #expect(
            LocalSecretStore.defaultPath(environment: [:], homeDirectory: "/home/u")
                == "/home/u/.local/share/secretsfs/secrets.db")
        // The XDG spec: a relative or empty XDG_DATA_HOME is ignored.
        #expect(
            LocalSecretStore.defaultPath(environment: ["XDG_DATA_HOME": "relative"], homeDirectory: "/home/u/")
                == "/home/u/.local/share/secretsfs/secrets.db")
        #expect(
            LocalSecretStore.defaultPath(environment: ["XDG_DATA_HOME": ""], homeDirectory: "/home/u")
                == "/home/u/.local/share/secretsfs/secrets.db")
    }
}
