import Foundation
import SecretsCore
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// Checks and clears mountpoints before a mount, and the `unmount` command's unmount.
extension MountPoint {
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

    /// The supervisor a live mount names in its `.status`.
    static func supervisorPID(of path: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: path + "/.status"),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let worker = json["worker"] as? [String: Any], let pid = worker["supervisor_pid"] as? Int
        else { return nil }
        return pid_t(pid)
    }

    static func clearDeadMount(_ path: String) throws(SecretError) {
        guard detach(path) else {
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
        var failure = errno
        // A path walk passing through the mount holds it for microseconds (a `find`, the worker's
        // warm-up of prefetched files right after a mount): busy is asked again for half a second
        // before it is the answer.
        var tries = 0
        while failure == EBUSY, tries < 10 {
            tries += 1
            usleep(50_000)
            if umount2(target, 0) == 0 { return }
            failure = errno
        }
        if failure == EINVAL { throw SecretError(.invalidArgument, "\(path) is not a mountpoint") }
        if failure == EBUSY { throw SecretError(.unavailable, "\(path) is busy (a process is using it)") }
        if failure == ENOENT { throw SecretError(.notFound, "mountpoint \(path) does not exist") }
        guard runTool("fusermount3", ["-u", target]) == 0 else {
            throw SecretError(.unavailable, "could not unmount \(path): \(String(cString: strerror(failure)))")
        }
    }
}
