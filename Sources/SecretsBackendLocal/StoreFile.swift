import Logging
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The database file on disk: where it lives by default, and creating it private before SQLite
/// opens it (SQLite would create it with the umask's mode, often 0644, readable by everyone).
enum StoreFile {
    static func defaultPath(environment: [String: String], homeDirectory: String) -> String {
        // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
        if let dataHome = environment["XDG_DATA_HOME"], dataHome.hasPrefix("/") {
            return join(dataHome, "secretsfs/secrets.db")
        }
        return join(homeDirectory, ".local/share/secretsfs/secrets.db")
    }

    /// Creates each missing parent folder with mode 0700 and the file with mode 0600. Existing
    /// folders are left as they are (they may be `~/.local/share`); an existing file readable by
    /// others is reported, not silently changed, so the owner notices.
    static func prepare(_ path: String, logger: Logger) throws(SecretError) {
        guard !path.isEmpty else {
            throw SecretError(.configuration, "the store path is empty")
        }
        try makeParents(of: path)
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            // The umask may have taken bits away; never added any, but say exactly what we mean.
            fchmod(descriptor, 0o600)
            close(descriptor)
            return
        }
        let failure = errno
        guard failure == EEXIST else { throw fileError(failure, "cannot create the store file", path) }
        var info = stat()
        guard stat(path, &info) == 0 else { throw fileError(errno, "cannot inspect the store file", path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SecretError(.configuration, "the store path is not a regular file: \(path)")
        }
        if info.st_mode & 0o077 != 0 {
            logger.warning(
                "store file is readable or writable by others; chmod 600 it",
                metadata: ["path": "\(path)", "mode": "\(String(info.st_mode & 0o777, radix: 8))"])
        }
    }

    private static func makeParents(of path: String) throws(SecretError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).dropLast()
        var folder = path.hasPrefix("/") ? "" : "."
        for part in parts {
            folder += "/" + part
            if mkdir(folder, 0o700) == 0 {
                chmod(folder, 0o700)
            } else if errno != EEXIST {
                throw fileError(errno, "cannot create the store's folder", folder)
            }
        }
    }

    private static func fileError(_ code: Int32, _ what: String, _ path: String) -> SecretError {
        let reason = String(cString: strerror(code))
        let kind: SecretError.Code =
            (code == EACCES || code == EPERM || code == EROFS) ? .permissionDenied : .configuration
        return SecretError(kind, "\(what) at \(path): \(reason)")
    }

    private static func join(_ base: String, _ rest: String) -> String {
        base.hasSuffix("/") ? base + rest : base + "/" + rest
    }
}
