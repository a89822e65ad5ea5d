import ArgumentParser
import Foundation
import Logging
import SecretsBackendKit
import SecretsCore
import SecretsFileSystem

/// `secretsfs render PATH --config F`: a file of `files:` as the mount would show it now, for
/// checking a template without mounting.
struct RenderCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Print a rendered file of the config's 'files:' on stdout, bytes exactly.")

    @Argument(help: "The rendered file's path in the mount, e.g. app/db.json.") var path: PathArgument
    @OptionGroup var backend: BackendOptions

    func validate() throws {
        try path.check()
        guard backend.config != nil else {
            throw ValidationError("render needs --config, the file that declares 'files:'")
        }
    }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let rendered = try backend.config.map { path throws(SecretError) in try ConfigFile.load(path).renderedFiles() }
        guard let rendered, rendered.file(at: path.path) != nil else {
            throw SecretError.notFound(path.path, "no such rendered file in the config")
        }
        // Through a cache as at the mount, so inputs resolve by the same rules (fields, labels).
        let cache = CachingSecretStore(upstream: store, policy: CachePolicy(), logger: logger)
        var options = FileSystemOptions(uid: getuid(), gid: getgid())
        options.rendered = rendered
        let fileSystem = SecretsFileSystem(store: cache, options: options, clock: SystemTimeSource(), logger: logger)
        let value = try await fileSystem.renderedValue(at: path.path)
        value.withUnsafeBytes { writeStdout($0) }
    }
}
