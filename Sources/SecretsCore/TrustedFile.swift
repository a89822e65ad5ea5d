#if canImport(Glibc)
    import Glibc
#endif

/// The files secretsfs reads and writes as itself, judged as sshd's StrictModes judges a user's files
/// (DESIGN §10): root and the user secretsfs runs as are trusted, nobody else is. A file someone else
/// could have written or replaced would let them choose a config (and its `on_change` programs run
/// as root), a template's input or a key; a file someone else planted where secretsfs writes would
/// let them point its writes anywhere.
public enum TrustedFile {
    /// Root and the user secretsfs runs as.
    static func isTrusted(_ owner: uid_t) -> Bool { owner == 0 || owner == geteuid() }

    /// Reads a file whose content decides what secretsfs does. The file, every folder on the path as
    /// given and on the path its symlinks lead to, and each symlink on the way must belong to root or
    /// the user secretsfs runs as; the file and folders must not be writable by group or others (a
    /// root-owned sticky folder such as /tmp is fine); a `secret` (a key) must not be readable by
    /// them either. The file is opened once, judged by that descriptor and read from it, so nothing
    /// can be swapped between the judgement and the read. Errors name the file, never its content.
    public static func read(
        _ path: String, what: String, secret: Bool = false, limit: Int = 16 << 20
    ) throws(SecretError) -> [UInt8] {
        try readWithOwner(path, what: what, secret: secret, limit: limit).bytes
    }

    /// `read`, and the uid that owns the file.
    public static func readWithOwner(
        _ path: String, what: String, secret: Bool = false, limit: Int = 16 << 20
    ) throws(SecretError) -> (bytes: [UInt8], owner: uid_t) {
        let given = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        try judgeGivenPath(given, what: what, path: path)
        guard let resolved = realpath(given, nil) else { throw cannotRead(what, path) }
        let target = String(cString: resolved)
        free(resolved)
        try judgeFolders(of: target, what: what, path: path)
        let fd = open(target, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw cannotRead(what, path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw cannotRead(what, path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw refused(what, path, "it is not a regular file")
        }
        try judgeOwner(info, what: what, path: path, name: "it")
        guard info.st_mode & 0o022 == 0 else {
            throw refused(what, path, "it is writable by group or others (mode \(octal(info.st_mode)))")
        }
        if secret, info.st_mode & 0o044 != 0 {
            throw refused(what, path, "it is readable by group or others (mode \(octal(info.st_mode))); make it 0600")
        }
        var bytes: [UInt8] = []
        // Sized once, so no grown copy of a key is left unzeroed on the heap.
        bytes.reserveCapacity(min(limit, max(0, Int(info.st_size))) + 1)
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer { buffer.zeroize() }
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                bytes.zeroize()
                throw cannotRead(what, path)
            }
            if count == 0 { return (bytes, info.st_uid) }
            guard bytes.count + count <= limit else {
                bytes.zeroize()
                throw SecretError(.configuration, "\(what) \(path) is larger than \(limit) bytes")
            }
            bytes.append(contentsOf: buffer[..<count])
        }
    }

    /// Opens a file secretsfs appends to (an audit log, `--log-file`): never through a symlink at its
    /// name, created 0600, made 0600 if it is broader, refused if someone else owns it. The descriptor
    /// is close-on-exec.
    public static func openForAppend(_ path: String, what: String) throws(SecretError) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw SecretError(.configuration, "cannot open \(what) \(path): \(reason)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw SecretError(.configuration, "cannot open \(what) \(path): \(String(cString: strerror(errno)))")
        }
        do throws(SecretError) {
            // A FIFO or device someone else left there is not a log (/dev/null is root's and harmless).
            let isDevNull = info.st_mode & S_IFMT == S_IFCHR && path == "/dev/null"
            guard info.st_mode & S_IFMT == S_IFREG || isDevNull else {
                throw refused(what, path, "it is not a regular file")
            }
            try judgeOwner(info, what: what, path: path, name: "it")
            if !isDevNull, info.st_mode & 0o077 != 0, fchmod(fd, 0o600) != 0 {
                let reason = String(cString: strerror(errno))
                throw SecretError(.configuration, "cannot make \(what) \(path) 0600: \(reason)")
            }
        } catch {
            close(fd)
            throw error
        }
        _ = fcntl(fd, F_SETFL, O_WRONLY | O_APPEND)
        return fd
    }

    /// Each folder and symlink on the path as the user wrote it, before any symlink is followed.
    private static func judgeGivenPath(_ given: String, what: String, path: String) throws(SecretError) {
        var prefix = ""
        try judgeFolder("/", what: what, path: path)
        let parts = given.split(separator: "/")
        for (index, part) in parts.enumerated() {
            prefix += "/" + part
            var info = stat()
            guard lstat(prefix, &info) == 0 else { throw cannotRead(what, path) }
            if info.st_mode & S_IFMT == S_IFLNK {
                try judgeOwner(info, what: what, path: path, name: "the symlink \(prefix)")
            } else if index < parts.count - 1 {
                try judgeFolder(prefix, info, what: what, path: path)
            }
        }
    }

    /// Every folder above the file its symlinks lead to.
    private static func judgeFolders(of target: String, what: String, path: String) throws(SecretError) {
        var prefix = ""
        try judgeFolder("/", what: what, path: path)
        for part in target.split(separator: "/").dropLast() {
            prefix += "/" + part
            try judgeFolder(prefix, what: what, path: path)
        }
    }

    private static func judgeFolder(_ folder: String, what: String, path: String) throws(SecretError) {
        var info = stat()
        guard stat(folder, &info) == 0 else { throw cannotRead(what, path) }
        try judgeFolder(folder, info, what: what, path: path)
    }

    private static func judgeFolder(_ folder: String, _ info: stat, what: String, path: String) throws(SecretError) {
        try judgeOwner(info, what: what, path: path, name: "the folder \(folder)")
        let rootSticky = info.st_uid == 0 && info.st_mode & S_ISVTX != 0
        guard info.st_mode & 0o022 == 0 || rootSticky else {
            throw refused(what, path, "the folder \(folder) is writable by group or others")
        }
    }

    private static func judgeOwner(_ info: stat, what: String, path: String, name: String) throws(SecretError) {
        guard isTrusted(info.st_uid) else {
            let user = geteuid() == 0 ? "root" : "root or uid \(geteuid())"
            throw refused(what, path, "\(name) is owned by uid \(info.st_uid), not \(user)")
        }
    }

    private static func refused(_ what: String, _ path: String, _ reason: String) -> SecretError {
        SecretError(.configuration, "refusing \(what) \(path): \(reason)")
    }

    private static func cannotRead(_ what: String, _ path: String) -> SecretError {
        SecretError(.configuration, "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "" }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
