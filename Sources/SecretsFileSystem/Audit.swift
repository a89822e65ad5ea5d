import Foundation
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// One line of the audit log: who opened or rotated what, and how it was answered. Never a value.
public struct AuditEvent: Sendable, Equatable {
    public enum Action: String, Sendable { case open, rotate }
    public enum Outcome: String, Sendable {
        case ok, denied, stale, error
        case notFound = "not_found"
    }

    public var time: Date
    public var action: Action
    public var path: String
    public var version: String?
    public var outcome: Outcome
    public var cache: String?
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var executable: String?
}

extension AuditEvent: Encodable {
    private enum CodingKeys: String, CodingKey {
        case time, action, path, version, outcome, cache, uid, gid, pid, executable
    }

    /// Every key is written, an absent one as `null`: readers of the log rely on the full set.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Timestamp.iso8601(time), forKey: .time)
        try container.encode(action.rawValue, forKey: .action)
        try container.encode(path, forKey: .path)
        try container.encode(version, forKey: .version)
        try container.encode(outcome.rawValue, forKey: .outcome)
        try container.encode(cache, forKey: .cache)
        try container.encode(uid, forKey: .uid)
        try container.encode(gid, forKey: .gid)
        try container.encode(pid, forKey: .pid)
        try container.encode(executable, forKey: .executable)
    }

    /// The event as one JSON line, keys sorted. The audit sink formats off the read path, so
    /// Foundation's encoder costs no open anything.
    public var jsonLine: String {
        String(decoding: JSONLines.line(self).dropLast(), as: UTF8.self)
    }
}

/// Where audit events go. Implementations must not block the caller: the read path calls this.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent)
}

/// Finds out who a process is: its executable and groups, from /proc. Injected for tests.
public protocol CallerResolver: Sendable {
    /// `groups`: whether the supplementary groups are needed (a policy rule names gids).
    func resolve(_ context: RequestContext, groups: Bool) -> Caller
}

public struct ProcCallerResolver: CallerResolver {
    public init() {}

    // Raw syscalls rather than Foundation: this runs on every open when a policy or audit is on.
    public func resolve(_ context: RequestContext, groups wantGroups: Bool) -> Caller {
        var caller = Caller(uid: context.uid, gid: context.gid, pid: context.pid)
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(context.pid)/exe", &buffer, buffer.count - 1)
        if length > 0 {
            caller.executable = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if wantGroups { caller.groups = Self.groups(of: context.pid) }
        return caller
    }

    private static func groups(of pid: Int32) -> [UInt32] {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return [] }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap {
            UInt32($0)
        }
    }
}
