// Dynamic credentials (`leases:` in the config): read from a secrets engine that makes one per read
// (`database/creds/app`), shown by the store as a secret whose fields are the answer's data, renewed and
// replaced by `LeasesRenewal`, revoked at unmount. The lease id is a credential: it is kept in memory and
// in the journal handed to the next worker, never in a file, a log line, `.status` or an error.
import Foundation
import Logging
import NIOHTTP1
import SecretsBackendKit
import SecretsCore

/// One entry of `leases:`: the folder, the engine path to read (or to sign with), and what to do at unmount.
public struct VaultLeaseRequest: Sendable, Equatable {
    public var path: SecretPath
    /// The engine path below `/v1/`, as segments: `database/creds/app`, or with `sign`, `ssh/sign/deploy`.
    public var read: [String]
    /// An SSH certificate to have signed at `read`, rather than a credential to read there.
    public var sign: SSHSigning?
    /// Made when the mount starts rather than on the first read.
    public var prefetch: Bool
    /// Revoked when the mount stops (`revoke: false` leaves it to expire).
    public var revoke: Bool

    public init(path: SecretPath, read: String, prefetch: Bool = false, revoke: Bool = true) throws(SecretError) {
        guard !path.isRoot else { throw SecretError(.configuration, "a lease needs a path") }
        self.path = path
        self.read = try Self.enginePath(read, "'read' is not an engine path, such as database/creds/app")
        self.prefetch = prefetch
        self.revoke = revoke
    }

    /// An SSH certificate signed by the CA role at `sign` (`ssh/sign/deploy`). It is no lease: nothing to
    /// renew or revoke, it is signed again before it expires.
    public init(path: SecretPath, sign: String, ssh: SSHSigning, prefetch: Bool = false) throws(SecretError) {
        guard !path.isRoot else { throw SecretError(.configuration, "a certificate needs a path") }
        self.path = path
        self.read = try Self.enginePath(sign, "'sign' is not an engine path, such as ssh/sign/deploy")
        self.sign = ssh
        self.prefetch = prefetch
        self.revoke = false
    }

    private static func enginePath(_ text: String, _ problem: String) throws(SecretError) -> [String] {
        let segments = text.split(separator: "/").map(String.init)
        // Not quoted back, as no value of a config file is.
        guard segments.count >= 2, !segments.contains(where: { $0 == "." || $0 == ".." }) else {
            throw SecretError(.configuration, problem)
        }
        return segments
    }

    var readPath: String { VaultPaths.encodePath(read) }
    var shownRead: String { read.joined(separator: "/") }
}

/// The credentials of `leases:`, each made once on first need (a read, or the renewal service at mount
/// with `prefetch`), then renewed or made anew by `LeasesRenewal`. A failure to make one is kept and
/// thrown to readers until one is made, so a role that does not exist costs one call and one log line.
public actor VaultLeases {
    public nonisolated let requests: [SecretPath: VaultLeaseRequest]
    nonisolated let folders: DeclaredFolders
    let client: VaultClient
    let auth: VaultAuth
    let clock: any TimeSource
    private let logger: Logger
    private var held: [SecretPath: LeaseRecord] = [:]
    /// Credentials replaced but whose lease has not ended: revoked at unmount with the rest.
    private var retired: [(path: SecretPath, id: SecretValue, endsAt: Date)] = []
    private var making: [SecretPath: Task<LeaseRecord, any Error>] = [:]
    private var failures: [SecretPath: SecretError] = [:]
    private var renewProblems: [SecretPath: String] = [:]
    private var journal: (any LeaseJournal)?
    /// Another worker took the leases over: this one neither records, renews nor makes any more.
    private(set) var handedOver = false
    private var waiters: [SecretPath: [CheckedContinuation<Void, Never>]] = [:]

    /// Where the private keys of SSH certificates come from.
    nonisolated let randomBytes: @Sendable (Int) -> [UInt8]

    init(
        _ requests: [VaultLeaseRequest], client: VaultClient, auth: VaultAuth, clock: any TimeSource, logger: Logger,
        randomBytes: @escaping @Sendable (Int) -> [UInt8] = VaultLeases.systemRandomBytes
    ) {
        self.randomBytes = randomBytes
        self.requests = Dictionary(requests.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.folders = DeclaredFolders(self.requests.keys)
        self.client = client
        self.auth = auth
        self.clock = clock
        self.logger = logger
    }

    /// Takes over the leases an earlier worker of this mount held (those still configured, not ended,
    /// and for a certificate, of the key its entry names), then records every change to `journal`.
    public func attach(_ journal: any LeaseJournal) {
        let now = clock.wallNow()
        var taken = 0
        for record in journal.load() where !record.state.hasEnded(at: now) {
            guard let request = requests[record.path], Self.stillFits(record, request) else { continue }
            if held[record.path] == nil {
                held[record.path] = record
                taken += 1
            }
        }
        self.journal = journal
        if taken > 0 { logger.info("leases taken over from the previous worker", metadata: ["count": "\(taken)"]) }
        save()
    }

    private func save() {
        journal?.save(requests.keys.sorted().compactMap { held[$0] })
    }

    /// This worker retires and the next one has taken the journal over: nothing this one does from now
    /// on may overwrite it or make a credential the next one would not know of.
    public func handOver() {
        journal = nil
        handedOver = true
        for path in Array(waiters.keys) { wakeWaiters(path) }
    }

    /// The credential a folder shows now; the first is made here when none was tried yet. After its
    /// lease ended with no new one made, EIO: a dead credential is worse than none.
    func current(_ path: SecretPath) async throws -> LeaseRecord {
        if let record = held[path] {
            guard record.state.hasEnded(at: clock.wallNow()) else { return record }
            if let task = making[path] { return try await task.value }
            throw SecretError(
                .configuration, "the credential's lease has ended and no new one could be made yet", path: path)
        }
        if let task = making[path] { return try await task.value }
        if let failure = failures[path] { throw failure }
        return try await make(path)
    }

    /// Where `path`'s lease stands, nil while no credential was made.
    func state(_ path: SecretPath) -> LeaseState? { held[path]?.state }

    /// Whether the last attempt to make `path`'s credential failed.
    func hasFailed(_ path: SecretPath) -> Bool { failures[path] != nil }

    /// Returns once `path` holds a credential or an attempt to make one failed (a reader's, or `make`'s),
    /// or the task is cancelled.
    func waitUntilTried(_ path: SecretPath) async {
        if held[path] != nil || failures[path] != nil { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiters[path, default: []].append($0) }
        } onCancel: {
            Task { await self.wakeWaiters(path) }
        }
    }

    private func wakeWaiters(_ path: SecretPath) {
        for waiter in waiters.removeValue(forKey: path) ?? [] { waiter.resume() }
    }

    /// Makes a new credential for `path` now, or joins the one under way. The one it replaces is left
    /// working until its lease ends, for the connections made with it.
    @discardableResult
    func make(_ path: SecretPath) async throws -> LeaseRecord {
        if let task = making[path] { return try await task.value }
        guard let request = requests[path] else { throw SecretError.notFound(path, "no such lease") }
        // Detached: shared, and may outlive its starter, whose deadline (`CallDeadline`) is not its own.
        let task = Task.detached { try await self.makeAndKeep(request) }
        making[path] = task
        defer { making[path] = nil }
        return try await task.value
    }

    private func makeAndKeep(_ request: VaultLeaseRequest) async throws -> LeaseRecord {
        let path = request.path
        do {
            let old = held[path]
            var record =
                request.sign == nil
                ? try await readCredential(request) : try await signCertificate(request, replacing: old)
            record.made = (old?.made ?? 0) + 1
            if let old, !old.state.hasEnded(at: clock.wallNow()) {
                retired.append((path, old.leaseID, old.state.expiresAt))
            }
            retired.removeAll { $0.endsAt <= clock.wallNow() }
            held[path] = record
            renewProblems[path] = nil
            save()
            wakeWaiters(path)
            var metadata: Logger.Metadata = [
                "path": "\(path)", "expires": "\(Timestamp.iso8601(record.state.expiresAt))",
            ]
            if request.sign == nil { metadata["renewable"] = "\(record.state.renewable)" }
            let what = request.sign == nil ? "credential" : "SSH certificate"
            if failures.removeValue(forKey: path) != nil {
                logger.notice("\(what) made after earlier failures", metadata: metadata)
            } else {
                logger.info(old == nil ? "\(what) made" : "\(what) replaced", metadata: metadata)
            }
            return record
        } catch {
            let failure = Self.readersError(SecretError.from(error).at(path))
            if failures[path] != failure {
                logger.warning(
                    held[path] == nil
                        ? "credential not made; its files fail (EIO, or EACCES when denied) until one is"
                        : "credential not replaced; the one in hand is served until its lease ends",
                    metadata: ["path": "\(path)", "read": "\(request.shownRead)", "reason": "\(failure.message)"])
            }
            failures[path] = failure
            wakeWaiters(path)
            throw failure
        }
    }

    /// Renews `path`'s lease for as long again as it was first granted. Throws when Vault refuses or
    /// cannot be reached; a lease Vault no longer renews is marked so, and the next step is a new one.
    func renew(_ path: SecretPath) async throws {
        guard let record = held[path] else { return }
        let increment = SecretValue(string: "\(Int(record.state.leaseDuration.rounded(.up)))s")
        var body = VaultKV.objectBody([("lease_id", record.leaseID), ("increment", increment)])
        defer { body.withUnsafeMutableBytes { SecretValue.zero($0) } }
        let what = "the lease renewal of \(path)"
        let response = try await client.send(.PUT, "sys/leases/renew", body: body, idempotent: true, auth: auth)
        guard response.status == 200 else {
            // Vault's words may quote the lease id: only the status is kept.
            if response.status == 400, var record = held[path] {
                record.state.renewable = false
                held[path] = record
                save()
            }
            throw VaultPaths.statusError(response.status, what, path: path)
        }
        let root = try VaultKV.object(response.body, what)
        guard let granted = VaultKV.integer(root["lease_duration"]) else {
            throw VaultKV.malformed(what, "no lease_duration")
        }
        // The answer's own lease id is the same one: it is not read.
        guard var current = held[path], current.leaseID == record.leaseID else { return }
        current.state = current.state.renewed(at: clock.wallNow(), granted: Double(granted))
        if let renewable = root["renewable"] as? Bool, !renewable { current.state.renewable = false }
        held[path] = current
        if renewProblems.removeValue(forKey: path) != nil {
            logger.notice("lease renewed after earlier failures", metadata: ["path": "\(path)"])
        }
        save()
    }

    /// Notes a failed step once per cause: the line says what is served meanwhile.
    func noteProblem(_ path: SecretPath, _ error: SecretError, retryIn: Duration) {
        guard renewProblems[path] != error.message else { return }
        renewProblems[path] = error.message
        let ends = held[path].map { Timestamp.iso8601($0.state.expiresAt) } ?? "-"
        logger.warning(
            "lease not renewed or replaced; the credential in hand is served until its lease ends, retrying",
            metadata: [
                "path": "\(path)", "reason": "\(error.message)", "lease_ends": "\(ends)",
                "retry_in": "\(retryIn.seconds)s",
            ])
    }

    /// Revokes every lease of a folder whose entry says `revoke` (the default): the mount is stopping.
    /// A refusal is one log line; the lease then ends on its own.
    public func revokeAll() async {
        var revoked = 0
        let now = clock.wallNow()
        var all = held.values.map { ($0.path, $0.leaseID) }
        all += retired.filter { $0.endsAt > now }.map { ($0.path, $0.id) }
        // A certificate has no lease id: nothing to revoke.
        for (path, id) in all where requests[path]?.revoke ?? true && !id.isEmpty {
            var body = VaultKV.objectBody([("lease_id", id)])
            defer { body.withUnsafeMutableBytes { SecretValue.zero($0) } }
            do {
                let response = try await client.send(
                    .PUT, "sys/leases/revoke", body: body, idempotent: true, auth: auth)
                guard response.status == 204 || response.status == 200 else {
                    throw VaultPaths.statusError(response.status, "the lease revocation of \(path)", path: path)
                }
                revoked += 1
            } catch {
                logger.warning(
                    "lease not revoked; it ends on its own",
                    metadata: ["path": "\(path)", "reason": "\(SecretError.from(error).message)"])
            }
        }
        held.removeAll()
        retired.removeAll()
        journal?.wipe()
        if revoked > 0 { logger.info("leases revoked", metadata: ["count": "\(revoked)"]) }
    }

    /// What `.status` shows.
    public func statuses() -> [LeaseStatus] {
        requests.keys.sorted().map { path in
            let record = held[path]
            return LeaseStatus(
                path: path, obtainedAt: record?.state.obtainedAt, expiresAt: record?.state.expiresAt,
                renewals: record?.state.renewals ?? 0, made: record?.made ?? 0,
                kind: requests[path]?.sign == nil ? .credential : .sshCertificate,
                problem: renewProblems[path] ?? failures[path]?.message)
        }
    }

    /// EACCES when Vault denies the token, EIO for everything else; never `.unavailable`, which the
    /// cache would hide behind a stale credential.
    private static func readersError(_ error: SecretError) -> SecretError {
        if error.code == .permissionDenied { return error }
        return SecretError(.configuration, error.message, path: error.path, cause: error)
    }

    private func readCredential(_ request: VaultLeaseRequest) async throws -> LeaseRecord {
        let what = "the credential read of \(request.shownRead)"
        // Not retried on its own: each answer that reaches us is a new credential.
        let response = try await client.send(.GET, request.readPath, idempotent: false, auth: auth)
        guard response.status == 200 else {
            var error = VaultPaths.statusError(response.status, what, path: request.path)
            // Vault's words say what failed ("unknown role"); a failed answer holds no credential.
            if let reason = VaultKV.errors(response.body).first { error.message += ": " + String(reason.prefix(200)) }
            throw error
        }
        let now = clock.wallNow()
        return try Self.decode(response.body, what, path: request.path, at: now)
    }

    /// `lease_id`, `lease_duration`, `renewable` and `data`, each of whose fields is a file.
    static func decode(_ body: [UInt8], _ what: String, path: SecretPath, at now: Date) throws(SecretError)
        -> LeaseRecord
    {
        let root = try VaultKV.object(body, what)
        guard let id = root["lease_id"] as? String, !id.isEmpty else {
            throw VaultKV.malformed(what, "no lease_id: the engine path does not make leased credentials")
        }
        guard let duration = VaultKV.integer(root["lease_duration"]), duration > 0 else {
            throw VaultKV.malformed(what, "no lease_duration")
        }
        guard let data = root["data"] as? [String: Any], !data.isEmpty else { throw VaultKV.malformed(what, "no data") }
        let fields = try VaultKV.fields(data, what).values.filter { SecretPath.isValidSegment($0.key) }
        let state = LeaseState(
            obtainedAt: now, expiresAt: now.addingTimeInterval(TimeInterval(duration)),
            renewable: root["renewable"] as? Bool ?? false)
        let version = String(Int64((now.timeIntervalSince1970 * 1000).rounded()))
        return LeaseRecord(
            path: path, leaseID: SecretValue(string: id), version: version, fields: fields, state: state, made: 0)
    }
}

/// How the store shows leases: each folder is a secret of the credential's fields, its one version the
/// credential in hand, its rotation a new credential.
extension VaultLeases {
    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        let record = try await current(path)
        guard version == nil || version == record.version else {
            throw SecretError.notFound(path, "that credential is no longer shown")
        }
        return record.secret
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        let record = try await current(path)
        return VersionInfo.labellingCurrentAndPrevious([
            VersionInfo(id: record.version, createdAt: record.state.obtainedAt)
        ])
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let old = held[request.path]?.version
        let new = try await make(request.path)
        return RotationResult(path: request.path, field: request.field, oldVersion: old, newVersion: new.version)
    }
}

extension VaultLeases: LeaseHolder {
    public nonisolated var leaseFolders: [SecretPath] { requests.keys.sorted() }
}
