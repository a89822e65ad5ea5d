import Foundation
import SecretsCore

/// What one worker hands the next, so the kernel's node ids and file handles keep their meaning
/// when the process serving the mount is replaced (see DESIGN.md §6).
public struct WorkerContinuity: Sendable {
    /// The inode records a previous worker wrote, in the order it numbered them.
    public var restoredInodes: [[UInt8]]
    /// Where each newly numbered node is recorded; nil for a mount no worker will take over.
    public var journal: (any InodeJournal)?
    /// This worker's generation: handles it gives out never collide with an earlier worker's,
    /// which the kernel may still hold for open files.
    public var generation: UInt32
    /// For `.status`: who serves and how often the supervisor had to start a worker again.
    public var worker: WorkerIdentity?

    public init(
        restoredInodes: [[UInt8]] = [], journal: (any InodeJournal)? = nil, generation: UInt32 = 0,
        worker: WorkerIdentity? = nil
    ) {
        self.restoredInodes = restoredInodes
        self.journal = journal
        self.generation = generation
        self.worker = worker
    }

    public static let none = WorkerContinuity()
}

public struct WorkerIdentity: Sendable, Equatable {
    public var pid: Int32
    public var startedAt: Date
    /// Workers started after one died.
    public var restarts: Int
    /// Workers started to replace a live one (`secretsfs reload`, SIGHUP, a restart by systemd).
    public var reloads: Int
    public var supervisorPID: Int32

    public init(pid: Int32, startedAt: Date, restarts: Int, reloads: Int, supervisorPID: Int32) {
        self.pid = pid
        self.supervisorPID = supervisorPID
        self.startedAt = startedAt
        self.restarts = restarts
        self.reloads = reloads
    }
}

/// Receives one record per node numbered, in numbering order, before its number is given out.
public protocol InodeJournal: Sendable {
    func append(_ record: [UInt8])
}

/// A node key as bytes: a kind and its names, separated by NUL (which no name may hold). A control
/// file's kind is its `recordTag`, followed by its folder's path where it is in every folder.
enum NodeKeyCodec {
    static func encode(_ key: NodeKey) -> [UInt8] {
        let parts: [String]
        switch key {
        case .path(let path): parts = ["p", path.segments.joined(separator: "/")]
        case .value(let path, let version, let isField):
            parts = ["x", path.segments.joined(separator: "/"), version, isField ? "1" : "0"]
        case .versionsRoot(let folder): parts = ["r", folder.segments.joined(separator: "/")]
        case .versions(let secret): parts = ["v", secret.segments.joined(separator: "/")]
        case .version(let secret, let id): parts = ["i", secret.segments.joined(separator: "/"), id]
        case .versionField(let secret, let id, let field):
            parts = ["f", secret.segments.joined(separator: "/"), id, field]
        case .label(let secret, let label): parts = ["l", secret.segments.joined(separator: "/"), label]
        case .control(let id, let folder):
            let file = id.file
            parts = file.inEveryFolder ? [file.recordTag, folder.segments.joined(separator: "/")] : [file.recordTag]
        case .rendered(let path): parts = ["t", path.segments.joined(separator: "/")]
        }
        return Array(parts.joined(separator: "\0").utf8)
    }

    static func decode(_ bytes: [UInt8]) -> NodeKey? {
        let parts = bytes.split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        func path(_ index: Int) -> SecretPath? {
            guard parts.count > index else { return nil }
            if parts[index].isEmpty { return .root }
            return try? SecretPath(parts[index])
        }
        switch (parts.first, parts.count) {
        case ("p", 2): return path(1).map { .path($0) }
        case ("x", 4): return path(1).map { .value($0, version: parts[2], isField: parts[3] == "1") }
        case ("r", 2): return path(1).map { .versionsRoot(folder: $0) }
        case ("v", 2): return path(1).map { .versions(of: $0) }
        case ("i", 3): return path(1).map { .version(of: $0, id: parts[2]) }
        case ("f", 4): return path(1).map { .versionField(of: $0, id: parts[2], field: parts[3]) }
        case ("l", 3): return path(1).map { .label(of: $0, label: parts[2]) }
        case ("t", 2): return path(1).map { .rendered($0) }
        case (let tag?, let count):
            guard let id = ControlFiles.tagged(tag) else { return nil }
            if !id.file.inEveryFolder { return count == 1 ? .control(id, in: .root) : nil }
            return count == 2 ? path(1).map { .control(id, in: $0) } : nil
        default: return nil
        }
    }
}
