import Dispatch
import Foundation
import SecretsCore
import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Appends audit events as JSON lines to a file (0600), on a queue of its own so an open never
/// waits for the disk.
final class FileAuditSink: AuditSink, @unchecked Sendable {
    // Only touched on `queue`, apart from init and deinit.
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "secretsfs.audit")

    init(path: String) throws(SecretError) {
        descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SecretError(.configuration, "cannot open audit log \(path): \(String(cString: strerror(errno)))")
        }
    }

    func record(_ event: AuditEvent) {
        queue.async { [self] in
            var line = event.jsonLine + "\n"
            line.withUTF8 { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
        }
    }

    /// Waits until every event recorded so far is written.
    func flush() { queue.sync {} }

    deinit { close(descriptor) }
}
