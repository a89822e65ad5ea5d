#if canImport(Glibc)
    import Glibc
#endif

/// Reads the mount table and detaches mounts: what the supervisor needs, with no Foundation in it.
/// Preparing a mountpoint and the `unmount` command are SecretsFUSE's (`MountPointChecks`).
public enum MountPoint {
    /// The type mountinfo shows for our mounts: FUSE with the `subtype=secretsfs` of `MountOptions`.
    public static let secretsfsType = "fuse.secretsfs"

    /// The parent's real path, not the mountpoint's: resolving that would ask the mount itself.
    /// No Foundation URL here: making one from a path stats it, and a stat of a mount with no
    /// worker waits in the kernel for good.
    public static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        var parts = absolute.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        guard let name = parts.popLast() else { return "/" }
        let parent = "/" + parts.joined(separator: "/")
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real = realpath(parent, &resolved) != nil ? text(resolved) : parent
        return (real == "/" ? "" : real) + "/" + name
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return getcwd(&buffer, buffer.count) != nil ? text(buffer) : "/"
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether a FUSE file system is mounted on `path`.
    public static func isFUSEMount(_ path: String) -> Bool {
        mountType(at: canonical(path))?.hasPrefix("fuse") ?? false
    }

    /// The file system type of the mount whose mountpoint is exactly `path`, the topmost if stacked.
    public static func mountType(at path: String) -> String? {
        guard let text = procFile("/proc/self/mountinfo") else { return nil }
        var found: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 7, unescape(fields[4]) == path,
                let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count
            else { continue }
            found = String(fields[dash + 1])
        }
        return found
    }

    /// A /proc file read to its end. Not `String(contentsOfFile:)`: /proc files say size 0, and
    /// Foundation then reads one page, so a mount past the first 4096 bytes of mountinfo (a container
    /// or a host with a few dozen mounts) went unseen, and a restart under systemd mounted anew.
    static func procFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// mountinfo writes a space, tab, newline and backslash in a path as `\040`, `\011`, `\012`, `\134`.
    static func unescape(_ field: Substring) -> String {
        let bytes = Array(field.utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
                let octal = UInt8(String(decoding: bytes[(index + 1)..<(index + 4)], as: UTF8.self), radix: 8),
                [0o040, 0o011, 0o012, 0o134].contains(octal)
            {
                result.append(octal)
                index += 4
                continue
            }
            result.append(bytes[index])
            index += 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Detaches the mount on `path` (lazily, as libfuse's own unmount does): directly as root,
    /// through `fusermount3 -uz` otherwise. False when neither could.
    public static func detach(_ path: String) -> Bool {
        if umount2(path, Int32(MNT_DETACH)) == 0 { return true }
        return runTool("fusermount3", ["-uz", path]) == 0
    }

    /// Runs a tool found in `PATH` with no input or output and returns its exit code; -1 when it
    /// could not be started.
    public static func runTool(_ tool: String, _ arguments: [String]) -> Int32 {
        var spawn = ChildSpawn(program: tool, arguments: [tool] + arguments, searchesPath: true)
        spawn.fileActions = [
            .open(0, path: "/dev/null", flags: O_RDONLY), .open(1, path: "/dev/null", flags: O_WRONLY),
            .open(2, path: "/dev/null", flags: O_WRONLY), .closeFrom(3),
        ]
        guard let pid = try? spawn.start(environment: ProcessEnvironment.entries()) else { return -1 }
        return ChildExit.wait(for: pid).exitCode ?? -1
    }
}
