// The Vault side of HTTP: the request shape (headers, token, namespace), which answers are retried,
// and the message a transport failure becomes. The HTTP layer does the rest; nothing here reads or
// logs a body.
import AsyncHTTPClient
import Logging
import NIOHTTP1
import NIOSSL
import SecretsCore
import SecretsHTTP

final class VaultClient: Sendable {
    /// Attempts of one idempotent call, the first included, and the pauses between them. With several
    /// nodes an attempt is one pass over them: a node that refuses, fails or redirects elsewhere hands
    /// the call to the next at once, and only a pass that found no node pauses.
    static let retryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(200), maxDelay: .milliseconds(6400))

    /// How long one node may take to accept a connection when there are others to try: a dead node
    /// refuses at once, but AsyncHTTPClient keeps trying until its connect timeout.
    static let clusterConnectTimeout: Duration = .milliseconds(500)

    let nodes: VaultNodes
    let namespace: String?
    let timeout: Duration
    let http: HTTPLayer
    private let logger: Logger

    /// The node calls go to now, for messages.
    var address: String { nodes.preferredAddress }

    init(configuration: VaultConfiguration, clock: any TimeSource, logger: Logger) throws(SecretError) {
        self.nodes = VaultNodes(configuration.addresses)
        self.namespace = configuration.namespace
        self.timeout = configuration.timeout
        self.logger = logger
        let tls = try Self.tlsConfiguration(configuration, logger: logger)
        let client = HTTPClientSetup.makeClient(
            callTimeout: configuration.timeout, tls: tls,
            connectTimeout: configuration.addresses.count > 1 ? Self.clusterConnectTimeout : nil)
        self.http = HTTPLayer(service: "Vault", client: client, clock: clock, logger: logger)
    }

    private static func tlsConfiguration(
        _ configuration: VaultConfiguration,
        logger: Logger
    ) throws(SecretError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let file = configuration.caCertFile {
            // Loaded now so a bad file is a configuration error at start, not a failed handshake later.
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(file)
            } catch {
                throw SecretError(
                    .configuration, "the Vault CA certificate file \(file) is not readable PEM", cause: error)
            }
            if certificates.isEmpty {
                throw SecretError(.configuration, "the Vault CA certificate file \(file) holds no certificate")
            }
            tls.trustRoots = .certificates(certificates)
        }
        if configuration.skipVerify {
            logger.warning("Vault TLS certificate verification is off (--vault-skip-verify or VAULT_SKIP_VERIFY)")
            tls.certificateVerification = .none
        }
        return tls
    }

    /// Sends one call. `apiPath` is below `/v1/`, already percent-encoded. Idempotent calls (reads) are
    /// retried on 429 and 5xx with backoff and jitter, honouring Retry-After, never past the deadline.
    /// Transport failures and timeouts throw `.unavailable`; every other HTTP status is returned.
    ///
    /// With several nodes the call starts at the one that answered last and moves on to the next when
    /// a node refuses, times out or answers 5xx (a call that changes something moves on only when it
    /// never reached the node, so a write is never made twice). A standby's redirect (307) is
    /// followed only to a configured node; else the call moves on or waits for the election to end.
    func send(
        _ method: HTTPMethod,
        _ apiPath: String,
        body: [UInt8]? = nil,
        token: SecretValue?,
        namespaced: Bool = true,
        idempotent: Bool
    ) async throws(SecretError) -> HTTPAnswer {
        try await exchange(method, apiPath, body: body, token: token, namespaced: namespaced, idempotent: idempotent)
            .answer
    }

    /// `send`, and the node that gave the answer.
    func exchange(
        _ method: HTTPMethod,
        _ apiPath: String,
        body: [UInt8]? = nil,
        token: SecretValue?,
        namespaced: Bool = true,
        idempotent: Bool
    ) async throws(SecretError) -> (answer: HTTPAnswer, node: Int) {
        let call = "\(method.rawValue) \(Self.shownPath(apiPath))"
        var headers: [(name: String, value: String)] = [
            ("Accept", "application/json"),
            // Vault Agent's API proxy with `require_request_header` refuses calls without it (its SSRF guard).
            ("X-Vault-Request", "true"),
        ]
        if let token, let text = token.utf8String() { headers.append(("X-Vault-Token", text)) }
        if namespaced, let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let nodes = self.nodes
        let count = nodes.addresses.count
        var node = nodes.preferred
        // Nodes tried in this pass, and redirects followed in this call (a loop of them ends the pass).
        var tried: Set<Int> = []
        var redirects = 0
        // Moves the call to the next node not tried in this pass, or starts a new pass after a pause
        // (`waiting`: one that uses no attempt, for as long as the deadline allows).
        func moveOn(_ reason: String, after: Duration? = nil, waiting: Bool = false) -> HTTPVerdict {
            tried.insert(node)
            var next = nodes.next(after: node)
            while tried.contains(next), tried.count < count { next = nodes.next(after: next) }
            if !tried.contains(next) {
                logger.debug(
                    "Vault node \(reason); trying the next",
                    metadata: ["call": "\(call)", "node": "\(nodes.addresses[node])"])
                node = next
                return .resend
            }
            tried = []
            redirects = 0
            node = nodes.preferred
            return waiting ? .wait(reason: reason, after: after) : .retry(reason: reason, after: after, phrase: reason)
        }
        let outcome: Result<HTTPAnswer, HTTPGaveUp>
        do {
            outcome = try await http.call(
                call, deadline: http.deadline(after: timeout),
                // A node that takes the connection and never answers leaves time for the others; a
                // write waits for its node's answer, since it may have been made.
                attemptTimeout: count > 1 && idempotent ? timeout / count : nil,
                policy: Self.retryPolicy, changesNothing: idempotent,
                makeRequest: {
                    HTTPRequest(
                        method: method, url: nodes.addresses[node] + "/v1/" + apiPath,
                        headers: headers + nodes.consistencyHeaders(), body: body)
                },
                judge: { outcome in
                    switch outcome {
                    case .success(let answer) where answer.status == 307:
                        // A standby that cannot forward (the active node is dead, or was just elected)
                        // points at the active node; nothing was done, so a write may go there too.
                        if let target = nodes.node(forRedirectTo: answer.header("Location")), target != node,
                            !tried.contains(target), redirects < count
                        {
                            redirects += 1
                            tried.insert(node)
                            node = target
                            return .resend
                        }
                        // An election lasts a few seconds: wait it out within the deadline, however
                        // many passes that takes.
                        return moveOn("redirected to the active node", after: answer.retryAfter, waiting: true)
                    case .success(let answer) where idempotent && (answer.status == 429 || answer.status >= 500):
                        return moveOn("answered \(answer.status)", after: answer.retryAfter)
                    case .success(let answer) where count > 1 && answer.status == 503:
                        // Sealed, or a standby with no active node: no write was made.
                        return moveOn("answered 503", after: answer.retryAfter)
                    case .failure(let error)
                    where count > 1 && error.code == .unavailable
                        && (idempotent || HTTPLayer.neverReachedServer(error)):
                        // One node's failure says nothing of the others. A lone node's is the call's
                        // outcome at once, so the cache serves what it has without waiting.
                        return moveOn(error.message)
                    default:
                        return .accept
                    }
                })
        } catch {
            throw transportError(SecretError.from(error), call: call)
        }
        switch outcome {
        case .success(let answer):
            remember(node, answer: answer, method: method)
            return (answer, node)
        case .failure(let gaveUp):
            // Out of attempts on a 429, 5xx or redirect: the status says what Vault is doing (sealed,
            // throttling, electing).
            switch gaveUp.last {
            case .success(let answer): return (answer, node)
            case .failure(let error): throw transportError(error, call: call)
            }
        }
    }

    /// Calls start at the node that answered from now on; a write's storage index is kept.
    private func remember(_ node: Int, answer: HTTPAnswer, method: HTTPMethod) {
        if nodes.answered(by: node) {
            logger.notice("Vault calls go to another node", metadata: ["node": "\(nodes.addresses[node])"])
        }
        if method != .GET, answer.isSuccess { nodes.wrote(index: answer.header("X-Vault-Index")) }
    }

    /// A failure before any status: the message keeps the kind of failure, which never holds a body.
    private func transportError(_ error: SecretError, call: String) -> SecretError {
        logger.warning("Vault call failed", metadata: ["call": "\(call)", "reason": "\(error.message)"])
        let what = error.code == .unavailable ? "is unavailable" : "answered badly"
        return SecretError(error.code, "Vault at \(address) \(what): \(error.message)", cause: error.cause)
    }

    /// The call as a log line shows it: the API path, which names secrets but never holds a value.
    static func shownPath(_ apiPath: String) -> String {
        apiPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? apiPath
    }

    func shutdown() async {
        await http.shutdown()
    }
}

extension VaultClient {
    /// One call with `auth`'s current token; when Vault says 403 and the token turns out to be the
    /// problem, once more with a fresh one.
    func send(
        _ method: HTTPMethod, _ apiPath: String, body: [UInt8]? = nil, idempotent: Bool, auth: VaultAuth
    ) async throws(SecretError) -> HTTPAnswer {
        try await exchange(method, apiPath, body: body, idempotent: idempotent, auth: auth).answer
    }

    /// `send` with `auth`'s token, and the node that gave the answer.
    func exchange(
        _ method: HTTPMethod, _ apiPath: String, body: [UInt8]? = nil, idempotent: Bool, auth: VaultAuth
    ) async throws(SecretError) -> (answer: HTTPAnswer, node: Int) {
        let credential = auth.current()
        let first = try await exchange(method, apiPath, body: body, token: credential.token, idempotent: idempotent)
        guard first.answer.status == 403, await auth.recover(afterDenialOf: credential.generation) else {
            return first
        }
        return try await exchange(method, apiPath, body: body, token: auth.current().token, idempotent: idempotent)
    }
}
