import CFUSE
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
}
