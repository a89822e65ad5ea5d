import Foundation
import SecretsCore

/// One line of the audit log: who opened or rotated what, and how it was answered. Never a value.
public struct AuditEvent: Sendable, Encodable, Equatable {
    public enum Action: String, Sendable, Encodable { case open, rotate }
    public enum Outcome: String, Sendable, Encodable {
        case ok, denied, stale, error
        case notFound = "not_found"
    }

    public var time: String
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

/// Where audit events go. Implementations must not block the caller: the read path calls this.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent)
}

/// Finds out who a process is: its executable and groups, from /proc. Injected for tests.
public protocol CallerResolver: Sendable {
    func resolve(_ context: RequestContext) -> Caller
}

public struct ProcCallerResolver: CallerResolver {
    public init() {}

    public func resolve(_ context: RequestContext) -> Caller {
        let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(context.pid)/exe")
        var groups: [UInt32] = []
        if let status = try? String(contentsOfFile: "/proc/\(context.pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") })
        {
            groups = line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap {
                UInt32($0)
            }
        }
        return Caller(uid: context.uid, gid: context.gid, pid: context.pid, groups: groups, executable: exe)
    }
}
