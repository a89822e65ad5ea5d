import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Checks and clears mountpoints, and unmounts.
public enum MountPoint {
    /// Makes sure `path` is a folder we can mount on. A dead mount left by a killed daemon
    /// ("Transport endpoint is not connected") is cleared first.
    public static func prepare(_ path: String) throws(SecretError) {
        var st = stat()
        if stat(path, &st) != 0 {
            let failure = errno
            guard failure == ENOTCONN || failure == ECONNABORTED else {
                if failure == ENOENT { throw SecretError(.configuration, "mountpoint \(path) does not exist") }
                throw SecretError(
                    .configuration, "cannot use mountpoint \(path): \(String(cString: strerror(failure)))")
            }
            try clearDeadMount(path)
            guard stat(path, &st) == 0 else {
                throw SecretError(.configuration, "mountpoint \(path) holds a dead mount that could not be cleared")
            }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw SecretError(.configuration, "mountpoint \(path) is not a folder")
        }
    }

    static func clearDeadMount(_ path: String) throws(SecretError) {
        if umount2(path, Int32(MNT_DETACH)) == 0 { return }
        guard run("fusermount3", ["-uz", path]) == 0 else {
            throw SecretError(.configuration, "mountpoint \(path) holds a dead mount; run: fusermount3 -uz \(path)")
        }
    }

    /// Unmounts `path`: directly as root, through fusermount3 otherwise.
    public static func unmount(_ path: String) throws(SecretError) {
        if umount2(path, 0) == 0 { return }
        let failure = errno
        if failure == EINVAL { throw SecretError(.invalidArgument, "\(path) is not a mountpoint") }
        if failure == EBUSY { throw SecretError(.unavailable, "\(path) is busy (a process is using it)") }
        if failure == ENOENT { throw SecretError(.notFound, "mountpoint \(path) does not exist") }
        guard run("fusermount3", ["-u", path]) == 0 else {
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
