import Foundation
import SecretsCore
import Synchronization

/// Carries how the cache answered a read out of node resolution, for the audit line; and, for a
/// resolution worth making only when it costs no backend read, that it must not read the store.
final class OutcomeRecorder: Sendable {
    private let state = Mutex<CacheOutcome?>(nil)
    /// Values and listings come only from what the cache keeps fresh; a call to the store it would
    /// make throws `Resolver.notKept` instead.
    let keptOnly: Bool

    init(keptOnly: Bool = false) {
        self.keptOnly = keptOnly
    }

    var value: CacheOutcome? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

extension SecretsFileSystem {
    /// The caller a policy or audit judges, when `needed`; nil when not. A call made outside any
    /// kernel request (`RequestContext.unknown`) has no caller to judge, so it is refused then.
    func caller(_ context: RequestContext, needed: Bool) throws -> Caller? {
        guard needed else { return nil }
        guard context != .unknown else { throw SecretError(.permissionDenied, "no caller to check") }
        return options.callers.resolve(
            context, groups: options.policyNamesGroups, executable: options.audit != nil || options.policyNamesPrograms)
    }

    func checkPolicy(_ key: NodeKey, _ caller: Caller?) throws {
        if let path = judge.refusal(key, caller) { throw SecretError(.permissionDenied, "denied by policy").at(path) }
    }

    /// Whether a listing shows `key` to `caller` (see `Judge.shows`).
    func visible(_ key: NodeKey, type: NodeType, to caller: Caller?) -> Bool {
        judge.shows(key, type: type, to: caller)
    }

    func audit(
        _ action: AuditEvent.Action, _ key: NodeKey, _ version: String?, _ caller: Caller, _ cache: CacheOutcome?,
        error: (any Error)?
    ) {
        guard let sink = options.audit else { return }
        let outcome: AuditEvent.Outcome
        switch (error as? SecretError)?.code {
        case nil where error == nil: outcome = cache == .stale ? .stale : .ok
        case .notFound?: outcome = .notFound
        case .permissionDenied?: outcome = .denied
        default: outcome = .error
        }
        sink.record(
            AuditEvent(
                time: clock.wallNow(), action: action, path: key.auditName, version: version,
                outcome: outcome, cache: cache?.rawValue, uid: caller.uid, gid: caller.gid, pid: caller.pid,
                executable: caller.executable))
    }
}
