import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Checks and clears mountpoints, and unmounts.
public enum MountPoint {
    /// The type mountinfo shows for our mounts: FUSE with the `subtype=secretsfs` of `MountOptions`.
    public static let secretsfsType = "fuse.secretsfs"

    /// Makes sure `path` is a folder we can mount on: empty unless `nonEmpty`, since a mount hides
    /// what the folder holds. A dead mount left by a killed daemon ("Transport endpoint is not
    /// connected") is cleared first; `clearing: false` (`check`) leaves it and passes it, as a mount
    /// would clear it.
    public static func prepare(_ path: String, nonEmpty: Bool = false, clearing: Bool = true) throws(SecretError) {
        try clearEarlierMount(path, clearing: clearing)
        // What a mount would clear stands in the way of the checks below; it is not the folder's.
        if !clearing, isFUSEMount(path) { return }
        var st = stat()
        if stat(path, &st) != 0 {
            let failure = errno
            guard failure == ENOTCONN || failure == ECONNABORTED else {
                if failure == ENOENT { throw SecretError(.configuration, "mountpoint \(path) does not exist") }
                throw SecretError(
                    .configuration, "cannot use mountpoint \(path): \(String(cString: strerror(failure)))")
            }
            if !clearing { return }
            try clearDeadMount(path)
            guard stat(path, &st) == 0 else {
                throw SecretError(.configuration, "mountpoint \(path) holds a dead mount that could not be cleared")
            }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw SecretError(.configuration, "mountpoint \(path) is not a folder")
        }
        if !nonEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: path), !entries.isEmpty {
            throw SecretError(
                .configuration,
                "mountpoint \(path) is not empty; a mount would hide its files (--nonempty mounts over them)")
        }
    }

    /// A FUSE mount already on `path`: a dead one (its daemon was killed) is cleared, as is a live
    /// secretsfs mount whose supervisor is gone (its worker serves on alone until replaced); a
    /// mount that is served and supervised is refused. `stat` alone cannot tell: the kernel
    /// answers it from attributes it cached while the daemon lived.
    static func clearEarlierMount(_ path: String, clearing: Bool = true) throws(SecretError) {
        let target = canonical(path)
        guard let type = mountType(at: target), type.hasPrefix("fuse") else { return }
        var fs = statvfs()
        // STATFS always reaches the daemon, so it tells a live mount from a dead one.
        if statvfs(target, &fs) != 0 {
            guard errno == ENOTCONN || errno == ECONNABORTED else { return }
            if clearing { try clearDeadMount(target) }
            return
        }
        guard type == secretsfsType else {
            throw SecretError(.configuration, "\(path) is already a mountpoint (\(type))")
        }
        if let supervisor = supervisorPID(of: target), kill(supervisor, 0) == 0 {
            throw SecretError(.configuration, "\(path) is already mounted by secretsfs (supervisor pid \(supervisor))")
        }
        if clearing { try clearDeadMount(target) }
    }

    /// The parent's real path, not the mountpoint's: resolving that would ask the mount itself.
    /// No Foundation URL here: making one from a path stats it, and a stat of a mount with no
    /// worker waits in the kernel for good.
    public static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts = absolute.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        guard let name = parts.popLast() else { return "/" }
        let parent = "/" + parts.joined(separator: "/")
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let real = realpath(parent, &resolved) != nil ? String(cString: resolved) : parent
        return (real == "/" ? "" : real) + "/" + name
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
            guard fields.count > 7, unescape(String(fields[4])) == path,
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

    private static func unescape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }

    /// The supervisor a live mount names in its `.status`.
    static func supervisorPID(of path: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: path + "/.status"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let worker = json["worker"] as? [String: Any], let pid = worker["supervisor_pid"] as? Int
        else { return nil }
        return pid_t(pid)
    }

    static func clearDeadMount(_ path: String) throws(SecretError) {
        if umount2(path, Int32(MNT_DETACH)) == 0 { return }
        guard run("fusermount3", ["-uz", path]) == 0 else {
            throw SecretError(.configuration, "mountpoint \(path) holds a dead mount; run: fusermount3 -uz \(path)")
        }
    }

    /// Unmounts `path`: directly as root, through fusermount3 otherwise. Only a secretsfs mount:
    /// a mistyped path (`/run` for `/run/secrets`) must not take another file system's files with it.
    public static func unmount(_ path: String) throws(SecretError) {
        let target = canonical(path)
        guard let type = mountType(at: target) else {
            var st = stat()
            if stat(path, &st) != 0, errno == ENOENT {
                throw SecretError(.notFound, "mountpoint \(path) does not exist")
            }
            throw SecretError(.invalidArgument, "\(path) is not a mountpoint")
        }
        guard type == secretsfsType else {
            throw SecretError(.invalidArgument, "\(path) is not a secretsfs mount (\(type)); left mounted")
        }
        if umount2(target, 0) == 0 { return }
        let failure = errno
        if failure == EINVAL { throw SecretError(.invalidArgument, "\(path) is not a mountpoint") }
        if failure == EBUSY { throw SecretError(.unavailable, "\(path) is busy (a process is using it)") }
        if failure == ENOENT { throw SecretError(.notFound, "mountpoint \(path) does not exist") }
        guard run("fusermount3", ["-u", target]) == 0 else {
            throw SecretError(.unavailable, "could not unmount \(path): \(String(cString: strerror(failure)))")
        }
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        } catch {
            return -1
        }
    }
}
