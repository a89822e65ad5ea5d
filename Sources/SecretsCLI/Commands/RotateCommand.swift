import ArgumentParser
import Logging
import SecretsBackendKit
import SecretsCore

struct RotateCommand: StoreCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Replace a secret (or one field) with a new random value.")

    @Argument(help: "Secret path, or secret/field.") var path: PathArgument
    @Option(help: "Length of the new value: letters and digits, 8 to 4096.") var length: Int = 32
    @OptionGroup var backend: BackendOptions

    func validate() throws {
        try path.check()
        try PasswordGenerator.checkLength(length, flag: "--length")
    }

    func run(connected: ConnectedBackend, logger: Logger) async throws {
        let store = connected.store
        let path = path.path
        let generator = PasswordGenerator(length: length)
        var target = (path, nil as String?)
        if let parent = path.parent, !parent.isRoot, (try? await store.read(path)) == nil,
            case .fields(let fields)? = try? await store.read(parent).content, fields[path.name] != nil
        {
            target = (parent, path.name)
        }
        let result = try await store.rotate(
            RotationRequest(path: target.0, field: target.1, length: length) { generator.generate() })
        printLine("rotated \(path): \(result.oldVersion ?? "-") -> \(result.newVersion)")
    }
}
