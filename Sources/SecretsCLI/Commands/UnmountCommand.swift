import ArgumentParser
import SecretsFUSE
import SecretsSupervision

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Unmount a secretsfs mount.")

    @Argument(help: "The mountpoint.") var mountpoint: String

    func run() async throws {
        try MountPoint.unmount(mountpoint)
    }
}
