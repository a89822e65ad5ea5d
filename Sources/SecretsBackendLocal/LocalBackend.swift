import ArgumentParser
import Foundation
import SecretsBackendKit
import SecretsCore

/// The local SQLite store as the command line selects it (`--backend local`, the default).
public enum LocalBackend: Backend {
    public static let kinds = ["local"]
    public static let heading = "Local store"
    public static let options: [OptionSpec] = [.store, .storeKeyFile]

    public struct Flags: ParsableArguments, Sendable {
        public init() {}
        @Option(name: .option(.store), help: .option(.store)) public var store: String?
        @Option(name: .option(.storeKeyFile), help: .option(.storeKeyFile)) public var storeKeyFile: String?
    }

    public static func connect(_ kind: String, flags: Flags, context: BackendContext) async throws -> ConnectedBackend {
        let path = storePath(flags, environment: context.environment, homeDirectory: context.homeDirectory)
        let key = try storeKey(flags, environment: context.environment)
        return ConnectedBackend(store: try await LocalSecretStore.open(path: path, logger: context.logger, key: key))
    }

    /// The store's file, absolute, so `.status` names it wherever the daemon's working folder is.
    public static func storePath(_ flags: Flags, environment: [String: String], homeDirectory: String) -> String {
        let path =
            flags.store ?? OptionSpec.store.value(in: environment)
            ?? LocalSecretStore.defaultPath(environment: environment, homeDirectory: homeDirectory)
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The store's key, when a key file is named; an empty variable counts as unset.
    public static func storeKey(_ flags: Flags, environment: [String: String]) throws -> StoreKey? {
        guard let file = flags.storeKeyFile ?? OptionSpec.storeKeyFile.value(in: environment), !file.isEmpty else {
            return nil
        }
        return try StoreKey.load(file: file)
    }
}

extension OptionSpec {
    public static let store = OptionSpec(
        "store", environment: ["SECRETSFS_STORE"], readsFile: true, help: "Local store file",
        defaultText: "$XDG_DATA_HOME/secretsfs/secrets.db")
    public static let storeKeyFile = OptionSpec(
        "store-key-file", environment: ["SECRETSFS_STORE_KEY_FILE"], readsFile: true,
        help: "File holding the 32-byte key that encrypts the local store's values (raw, base64 or hex)")
}
