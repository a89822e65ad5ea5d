// The token the store calls Vault with: loaded or logged in at start, renewed by `VaultTokenRenewal`
// before it expires, and replaced by a new login when it cannot be renewed or Vault stops taking it.
// The token never leaves this file except as the X-Vault-Token header.
import Logging
import NIOHTTP1
import SecretsCore
import Synchronization

/// The token calls go with, and its generation (`VaultAuth.current`).
struct VaultCredential: Sendable {
    var token: SecretValue
    var generation: Int
}

actor VaultAuth {
    private let method: VaultAuthMethod
    private let client: VaultClient
    private let clock: any TimeSource
    private let logger: Logger
    /// The token and its generation, bumped whenever the token changes, so callers denied with an old
    /// token just retry with the new one. Behind a lock, not the actor: every call reads it (`current`),
    /// and a hop onto this actor and off it per backend call would buy nothing.
    private let held = Mutex(VaultCredential(token: SecretValue(bytes: []), generation: 0))
    private var token: SecretValue {
        get { held.withLock { $0.token } }
        set { held.withLock { $0.token = newValue } }
    }
    private var generation: Int { held.withLock { $0.generation } }
    /// On `clock`'s monotonic time. Nil when the token never expires (root tokens, ttl 0).
    private var expiresAt: Duration?
    private var nextRenewal: Duration?
    private var grantedTTL: Duration = .zero
    private var renewable = false
    private var renewalFailed = false
    /// Why the last login failed, until one succeeds: what health reports while no token works.
    private var loginFailure: String?
    private var recovery: Task<Bool, Never>?
    private var stopped = false
    /// Set while the store waits for an unreachable Vault: the next wake-up tries `start` again.
    private var retryStartEvery: Duration?
    /// Bumped whenever what the renewal service should wait for changes; a wake-up for an older
    /// schedule does nothing.
    private var schedule = 0
    /// Tells the renewal service that the schedule changed; it keeps only the newest news.
    nonisolated let scheduleChanges: AsyncStream<Void>
    private let scheduleChanged: AsyncStream<Void>.Continuation

    init(method: VaultAuthMethod, client: VaultClient, clock: any TimeSource, logger: Logger) {
        self.method = method
        self.client = client
        self.clock = clock
        self.logger = logger
        (scheduleChanges, scheduleChanged) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Loads the token or logs in, checks it with lookup-self, and schedules its renewal.
    func start() async throws(SecretError) {
        switch method {
        case .token(.value(let value)):
            token = value
        case .token(.file(let path)):
            token = try CredentialFile.read(path, what: "Vault token")
        case .appRole, .jwt:
            try await logIn()
        }
        try await lookUpSelf()
        scheduleRenewal()
    }

    /// For a start while Vault cannot be reached: the renewal service tries `start` again every few
    /// seconds until it succeeds (renewal is scheduled then) or the store shuts down. Reads made
    /// meanwhile use whatever token there is, and the cache serves what it holds.
    func startWhenReachable(every interval: Duration = .seconds(3)) {
        retryStartEvery = interval
        changeSchedule()
    }

    /// What the renewal service waits for next: how long, and the schedule it belongs to. Nil when
    /// there is nothing to wait for (a token that never expires, or the store stopped).
    func nextWake() -> (after: Duration, schedule: Int)? {
        if stopped { return nil }
        if let retryStartEvery { return (retryStartEvery, schedule) }
        guard let nextRenewal else { return nil }
        return (max(nextRenewal - clock.monotonicNow(), .zero), schedule)
    }

    /// The renewal service's wake-up: renews (or starts) when `due` is still the schedule.
    func wake(_ due: Int) async {
        guard !stopped, due == schedule else { return }
        if retryStartEvery != nil {
            do {
                try await start()
                retryStartEvery = nil
                logger.notice("Vault answers again; the token is checked and renewed as usual")
            } catch {
                // Still unreachable: the same schedule again, a fresh wait.
            }
            changeSchedule()
            return
        }
        await renewNow()
    }

    nonisolated func current() -> VaultCredential {
        held.withLock { $0 }
    }

    /// Called after Vault answered 403 to a call made with token `generation`. Returns true when there is
    /// a new token worth one retry. A 403 is usually a policy saying no, so a login method logs in again
    /// only when the token is past its time, its renewal failed, or lookup-self shows Vault dropped it.
    func recover(afterDenialOf denied: Int) async -> Bool {
        if stopped { return false }
        if denied != generation { return true }
        if let recovery { return await recovery.value }
        // Detached: shared, and may outlive its starter, whose deadline (`CallDeadline`) is not its own.
        let task = Task.detached { await self.recoverNow() }
        recovery = task
        let renewed = await task.value
        recovery = nil
        return renewed
    }

    /// Nil when the store can authenticate now, else why not ("token expired", "login failing: …").
    /// lookup-self is allowed to every valid token, so a 403 there means Vault stopped taking ours;
    /// a method that can log in tries that first, as a read would. Unreachable is not an answer here:
    /// the health check itself says so.
    func problem() async -> String? {
        if stopped { return nil }
        let credential = current()
        let (token, generation) = (credential.token, credential.generation)
        guard let response = try? await client.send(.GET, "auth/token/lookup-self", token: token, idempotent: true),
            response.status == 403
        else { return nil }
        if await recover(afterDenialOf: generation) { return nil }
        if method.canLogIn { return "login failing" + (loginFailure.map { ": \($0)" } ?? "") }
        if let expiresAt, clock.monotonicNow() >= expiresAt { return "token expired" }
        return "token refused by Vault (expired or revoked)"
    }

    func shutdown() {
        stopped = true
        scheduleChanged.finish()
    }

    // MARK: private

    private func recoverNow() async -> Bool {
        switch method {
        case .token(.value):
            return false
        case .token(.file(let path)):
            // Vault Agent's file sink rewrites the file with a fresh token; pick it up.
            guard let fresh = try? CredentialFile.read(path, what: "Vault token"), fresh != token else { return false }
            adopt(fresh)
            logger.info("Vault token file changed; using the new token")
            try? await lookUpSelf()
            scheduleRenewal()
            return true
        case .appRole, .jwt:
            let expired = expiresAt.map { clock.monotonicNow() >= $0 } ?? false
            if !expired && !renewalFailed {
                guard (try? await tokenIsRejected()) == true else { return false }
            }
            do {
                logger.info("Vault refused the token; logging in again", metadata: ["auth": "\(method.name)"])
                try await logIn()
                scheduleRenewal()
                return true
            } catch {
                logger.error("Vault login failed: \(error)", metadata: ["auth": "\(method.name)"])
                return false
            }
        }
    }

    private func adopt(_ fresh: SecretValue) {
        held.withLock {
            $0.token = fresh
            $0.generation += 1
        }
        renewalFailed = false
    }

    private func adopt(ttl: Duration, renewable: Bool) {
        let now = clock.monotonicNow()
        grantedTTL = ttl
        self.renewable = renewable
        expiresAt = ttl > .zero ? now + ttl : nil
        // Two thirds in, as Vault Agent's lifetime watcher roughly does: late enough to be cheap, early
        // enough that a slow or failed renewal leaves time to retry or log in again.
        nextRenewal = ttl > .zero ? now + ttl * (2.0 / 3.0) : nil
    }

    private func logIn() async throws(SecretError) {
        do {
            try await logInOnce()
            loginFailure = nil
        } catch {
            loginFailure = error.message
            throw error
        }
    }

    private func logInOnce() async throws(SecretError) {
        let path: String
        var body: [UInt8]
        switch method {
        case .token:
            return
        case .appRole(let mount, let roleID, let secretIDFile):
            let secretID = try CredentialFile.read(secretIDFile, what: "AppRole secret id")
            path = "auth/\(VaultPaths.encode(mount))/login"
            body = VaultKV.objectBody([("role_id", SecretValue(string: roleID)), ("secret_id", secretID)])
        case .jwt(_, let mount, let role, let jwtFile):
            let jwt = try CredentialFile.read(jwtFile, what: method.name == "jwt" ? "JWT" : "\(method.name) JWT")
            path = "auth/\(VaultPaths.encode(mount))/login"
            body = VaultKV.objectBody([("role", SecretValue(string: role)), ("jwt", jwt)])
        }
        defer { body.zeroize() }
        let response = try await client.send(.POST, path, body: body, token: nil, idempotent: true)
        switch response.status {
        case 200..<300:
            let login = try VaultKV.login(response.body, "the \(method.name) login")
            adopt(login.token)
            adopt(ttl: login.ttl, renewable: login.renewable)
            logger.info(
                "Logged in to Vault", metadata: ["auth": "\(method.name)", "ttl": "\(login.ttl)"])
        case 400, 401, 403:
            // Vault answers 400 for a wrong role id or secret id and 403 for a JWT it does not trust.
            throw SecretError(.permissionDenied, "Vault refused the \(method.name) login (\(response.status))")
        case 404:
            throw SecretError(.configuration, "no \(method.name) auth method at auth/\(method.loginMount) (404)")
        default:
            throw VaultPaths.statusError(response.status, "the \(method.name) login", path: nil)
        }
    }

    private func lookUpSelf() async throws(SecretError) {
        let response = try await client.send(.GET, "auth/token/lookup-self", token: token, idempotent: true)
        switch response.status {
        case 200..<300:
            let lookup = try VaultKV.lookup(response.body, "token lookup-self")
            adopt(ttl: lookup.ttl, renewable: lookup.renewable)
        case 403:
            let whose = method.canLogIn ? " from the \(method.name) login" : ""
            throw SecretError(.permissionDenied, "Vault refused the token\(whose) (403 on lookup-self)")
        case 404:
            throw SecretError(.configuration, "\(client.address) does not answer as Vault (404 on token lookup-self)")
        default:
            throw VaultPaths.statusError(response.status, "token lookup-self", path: nil)
        }
    }

    /// True when Vault no longer knows the token: lookup-self is allowed to every valid token.
    private func tokenIsRejected() async throws(SecretError) -> Bool {
        let response = try await client.send(.GET, "auth/token/lookup-self", token: token, idempotent: true)
        return response.status == 403
    }

    private func scheduleRenewal() {
        if !stopped, nextRenewal != nil, !renewable && !method.canLogIn {
            logger.notice("The Vault token is not renewable; it expires in \(grantedTTL)")
            nextRenewal = nil
        }
        changeSchedule()
    }

    private func changeSchedule() {
        schedule += 1
        scheduleChanged.yield()
    }

    private func renewNow() async {
        guard !stopped else { return }
        do {
            try await refresh()
            renewalFailed = false
        } catch {
            renewalFailed = true
            let remaining = expiresAt.map { $0 - clock.monotonicNow() } ?? .zero
            if remaining <= .seconds(1) && !method.canLogIn {
                logger.error("Vault token renewal failed and the token has expired: \(error)")
                nextRenewal = nil
                changeSchedule()
                return
            }
            let pause = min(max(remaining / 3, .seconds(1)), .seconds(30))
            logger.warning(
                "Vault token renewal failed; retrying in \(pause): \(error)", metadata: ["auth": "\(method.name)"])
            nextRenewal = clock.monotonicNow() + pause
        }
        scheduleRenewal()
    }

    /// Renews the token, or for login methods logs in again when renewal fails or the token nears its max TTL.
    private func refresh() async throws(SecretError) {
        if renewable {
            do throws(SecretError) {
                let response = try await client.send(
                    .POST, "auth/token/renew-self", body: Array("{}".utf8), token: token, idempotent: true)
                guard response.isSuccess else {
                    throw VaultPaths.statusError(response.status, "token renew-self", path: nil)
                }
                let renewed = try VaultKV.login(response.body, "token renew-self")
                if !method.canLogIn || renewed.ttl >= grantedTTL / 2 {
                    adopt(ttl: renewed.ttl, renewable: renewed.renewable)
                    logger.debug("Vault token renewed", metadata: ["ttl": "\(renewed.ttl)"])
                    return
                }
                // Near its max TTL: a fresh login beats a string of ever shorter renewals.
                logger.info("Vault token is near its max TTL; logging in again", metadata: ["auth": "\(method.name)"])
            } catch {
                if !method.canLogIn { throw error }
                logger.warning(
                    "Vault token renewal failed; logging in again: \(error)", metadata: ["auth": "\(method.name)"])
            }
        }
        try await logIn()
    }
}

extension VaultAuthMethod {
    var loginMount: String {
        switch self {
        case .token: return "token"
        case .appRole(let mount, _, _), .jwt(_, let mount, _, _): return mount
        }
    }
}
