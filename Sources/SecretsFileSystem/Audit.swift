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
    /// Who the mount serves (`--audit-owner`), the same on every line of one mount.
    public var owner: String? = nil
}

extension AuditEvent: Encodable {
    private enum CodingKeys: String, CodingKey {
        case time, action, path, version, outcome, cache, uid, gid, pid, executable, owner
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
        try container.encode(owner, forKey: .owner)
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
    /// `executable`: whether the caller's program is needed (an audit log records it, a rule names
    /// programs); finding and proving it costs three system calls an open need not pay otherwise.
    func resolve(_ context: RequestContext, groups: Bool, executable: Bool) -> Caller
}

extension CallerResolver {
    public func resolve(_ context: RequestContext, groups: Bool, executable: Bool) -> Caller {
        resolve(context, groups: groups)
    }
}

public struct ProcCallerResolver: CallerResolver {
    public init() {}

    // Raw syscalls rather than Foundation: this runs on every open when a policy or audit is on.
    public func resolve(_ context: RequestContext, groups wantGroups: Bool) -> Caller {
        resolve(context, groups: wantGroups, executable: true)
    }

    public func resolve(_ context: RequestContext, groups wantGroups: Bool, executable wantExecutable: Bool) -> Caller {
        var caller = Caller(uid: context.uid, gid: context.gid, pid: context.pid)
        if wantExecutable { caller.executable = Self.executable(of: context.pid) }
        if wantGroups { caller.groups = Self.groups(of: context.pid) }
        return caller
    }

    /// The path of the caller's program, only when the file at that path here is the very file it
    /// runs (same device and inode). The path alone proves nothing: a user namespace can bind any
    /// program over `/usr/bin/sha256sum` in its own mounts, and `/proc/PID/exe` then names that
    /// path. A program from another mount namespace (a container) or one replaced since it started
    /// (`… (deleted)`) has no path a rule or an audit line can trust: nil.
    static func executable(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        var running = stat()
        var named = stat()
        guard stat("/proc/\(pid)/exe", &running) == 0, stat(&buffer, &named) == 0,
            running.st_dev == named.st_dev, running.st_ino == named.st_ino
        else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
