import CProcessGuard
import SecretsFUSE
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// What every program secretsfs starts (`secretsfs exec`'s child, an `on_change` exec) shares: the
/// environment it inherits without the backend's credentials, and no descriptor above stderr.
enum ProgramSpawn {
    /// Every variable a credential chain reads a secret from, as CProcessGuard names them: it moves them
    /// out of the block /proc/PID/environ shows before main runs, before the registry can be read, so it
    /// keeps its own copy of `Backends.credentialVariables` (a test keeps the two alike).
    static let guardedVariables: [String] = {
        var names: [String] = []
        while let name = secretsfs_credential_name(Int32(names.count)) { names.append(String(cString: name)) }
        return names
    }()

    /// The backend's own credentials stay with secretsfs.
    static let withheld = Set(Backends.credentialVariables)

    /// Only stdin, stdout and stderr reach a program: never /dev/fuse, the supervisor's socket, the
    /// memfds, an epoll or a backend's connection, whether or not they are close-on-exec.
    static let closeAboveStandard = ChildSpawn.FileAction.closeFrom(3)

    static func passedOn(_ environment: [String: String]) -> [String: String] {
        environment.filter { !withheld.contains($0.key) }
    }
}
