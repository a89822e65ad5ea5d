import ArgumentParser
import Foundation
import SecretsBackendLocal
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

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
            throw SecretError(
                .configuration, "store encrypt needs the key: --store-key-file or SECRETSFS_STORE_KEY_FILE")
        }
        let path = factory.localStorePath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw SecretError(.notFound, "no store at \(path): store encrypt converts an existing store")
        }
        if let holder = Self.processHolding(path) {
            throw SecretError(
                .configuration,
                "\(path) is open in process \(holder) (a mount?): unmount it first, then encrypt, then mount with the key"
            )
        }
        let count = try await LocalSecretStore.encrypt(path: path, key: key, logger: logger)
        printLine("encrypted \(count) versions in \(path)")
    }

    /// A process other than this one with the store (or its write-ahead log) open: a running mount
    /// would go on reading the file it holds, so sealing it underneath would change what it serves.
    static func processHolding(_ path: String) -> Int32? {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let names: Set<String> = [target, target + "-wal", target + "-shm"]
        let me = getpid()
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in processes {
            guard let pid = Int32(entry), pid != me else { continue }
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            for fd in descriptors {
                if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    names.contains(link)
                {
                    return pid
                }
            }
        }
        return nil
    }
}
