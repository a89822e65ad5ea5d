import Dispatch
import Foundation
import SecretsCore
import SecretsFileSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Appends audit events as JSON lines to a file (0600). An open only queues its event; a writer
/// queue formats whatever has gathered within `gathering` and writes it in one call, so a burst of
/// opens costs one write and one wake-up of the writer, and no open waits for the disk.
final class FileAuditSink: AuditSink, Sendable {
    private let descriptor: Int32
    private let queue = DispatchQueue(label: "secretsfs.audit")
    private let pending = Mutex<(events: [AuditEvent], scheduled: Bool)>(([], false))
    /// How long events gather before a write. Waking the writer for each open would cost every
    /// open a cross-CPU wake-up; a few milliseconds of delay on the log costs nobody.
    static let gathering = DispatchTimeInterval.milliseconds(5)

    /// The mount's `--audit-owner`, set on every event: the open's caller is a process, the owner
    /// who the mount is for (a CSI volume's pod).
    private let owner: String?

    init(path: String, owner: String? = nil) throws(SecretError) {
        descriptor = try TrustedFile.openForAppend(path, what: "audit log")
        self.owner = owner
    }

    func record(_ event: AuditEvent) {
        var event = event
        event.owner = owner
        let schedule = pending.withLock { pending in
            pending.events.append(event)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
        if schedule { queue.asyncAfter(deadline: .now() + Self.gathering) { [self] in writePending() } }
    }

    private func writePending() {
        let events = pending.withLock { pending in
            defer { pending = ([], false) }
            return pending.events
        }
        guard !events.isEmpty else { return }
        var text = ""
        for event in events {
            text += event.jsonLine
            text += "\n"
        }
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Waits until every event recorded so far is written.
    func flush() { queue.sync { writePending() } }

    deinit { close(descriptor) }
}
