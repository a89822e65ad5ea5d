import CFUSE
import CProcessGuard
import Foundation
import SecretsCore

/// libfuse's refusal of mount options, told without their values: it prints each refused option
/// whole, and `-o` may carry anything a user pasted.
enum LibfuseLog {
    /// Makes a libfuse session from `words` (argv for `fuse_session_new`), or throws one line
    /// that names what libfuse refused, with every `key=value` cut to `key=`.
    static func newSession(
        _ words: [String], _ ops: inout fuse_lowlevel_ops, userdata: UnsafeMutableRawPointer?
    ) throws(SecretError) -> OpaquePointer {
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var args = secretsfs_fuse_args_init(Int32(argv.count), &argv)
        defer { fuse_opt_free_args(&args) }
        secretsfs_fuse_log_capture(1)
        let session = secretsfs_session_new(&args, &ops, userdata)
        secretsfs_fuse_log_capture(0)
        guard let session else {
            let said = String(cString: secretsfs_fuse_log_captured())
                .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: "; ")
            throw SecretError(
                .configuration, "libfuse refused the mount options" + (said.isEmpty ? "" : " (\(said))"))
        }
        return session
    }

    /// `fuse_session_mount`, or one line with the reason libfuse (as root) or fusermount3 (as
    /// anyone else) gave. Both say it on stderr, which a daemon does not have: fusermount3 writes to
    /// the descriptor it inherits, so stderr is a memory file for the call's length.
    static func mount(_ session: OpaquePointer, at mountpoint: String) throws(SecretError) {
        let captured = secretsfs_memfd("secretsfs-mount-stderr")
        let saved = captured >= 0 ? dup(2) : -1
        fflush(nil)
        if saved >= 0 { dup2(captured, 2) }
        secretsfs_fuse_log_capture(1)
        let result = fuse_session_mount(session, mountpoint)
        secretsfs_fuse_log_capture(0)
        var said = String(cString: secretsfs_fuse_log_captured())
        if saved >= 0 {
            fflush(nil)
            dup2(saved, 2)
            close(saved)
            var bytes = [UInt8](repeating: 0, count: 1024)
            let count = pread(captured, &bytes, bytes.count, 0)
            if count > 0 { said += String(decoding: bytes[0..<count], as: UTF8.self) }
        }
        if captured >= 0 { close(captured) }
        let lines = said.split(whereSeparator: \.isNewline)
            .map { withoutValues($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
        guard result != 0 else {
            // Warnings of a mount that worked are still said where they always were.
            for line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            return
        }
        let reason = lines.isEmpty ? "is /dev/fuse there, and are you allowed to mount?" : lines.joined(separator: "; ")
        throw SecretError(.configuration, "could not mount on \(mountpoint) (\(reason))")
    }

    /// Each `key=value` cut to `key=`, as the C shim does to libfuse's own lines.
    static func withoutValues(_ line: String) -> String {
        var out = ""
        var skipping = false
        for character in line {
            if skipping {
                if character != "," && character != " " && character != "'" { continue }
                skipping = false
            }
            out.append(character)
            if character == "=" { skipping = true }
        }
        return out
    }
}
