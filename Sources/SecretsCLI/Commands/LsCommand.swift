import ArgumentParser
import Logging
import SecretsBackendKit
import SecretsCore

struct LsCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the names under a folder; folders end with '/'.")

    @Argument(help: "Folder to list (default: the root).") var prefix = PathArgument(.root)
    @Flag(name: [.short, .long], help: "List every secret below, as full paths.") var recursive = false
    @OptionGroup var backend: BackendOptions

    func validate() throws { try prefix.check() }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let prefix = prefix.path
        if recursive {
            try await walk(store, prefix)
            return
        }
        let listing = try await store.list(prefix)
        if listing.isEmpty, !prefix.isRoot { throw SecretError.notFound(prefix, "no such folder") }
        for name in listing.folders.union(listing.secrets).sorted() {
            if listing.secrets.contains(name) { printLine(name) }
            if listing.folders.contains(name) { printLine(name + "/") }
        }
    }

    private func walk(_ store: any SecretStore, _ folder: SecretPath) async throws {
        let listing = try await store.list(folder)
        for name in listing.folders.union(listing.secrets).sorted() {
            let path = try folder.appending(name)
            if listing.secrets.contains(name) { printLine(path.string) }
            if listing.folders.contains(name) { try await walk(store, path) }
        }
    }
}
