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
    /// Attempts of one idempotent call, the first included, and the pauses between them.
    static let retryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(200), maxDelay: .milliseconds(6400))

    let address: String
    let namespace: String?
    let timeout: Duration
    let http: HTTPLayer
    private let logger: Logger

    init(configuration: VaultConfiguration, clock: any TimeSource, logger: Logger) throws(SecretError) {
        self.address = configuration.address
        self.namespace = configuration.namespace
        self.timeout = configuration.timeout
        self.logger = logger
        let tls = try Self.tlsConfiguration(configuration, logger: logger)
        let client = HTTPClientSetup.makeClient(callTimeout: configuration.timeout, tls: tls)
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
    /// Transport failures and timeouts throw `.unavailable`; every HTTP status is returned.
    func send(
        _ method: HTTPMethod,
        _ apiPath: String,
        body: [UInt8]? = nil,
        token: SecretValue?,
        namespaced: Bool = true,
        idempotent: Bool
    ) async throws(SecretError) -> HTTPAnswer {
        let call = "\(method.rawValue) \(Self.shownPath(apiPath))"
        var headers: [(name: String, value: String)] = [
            ("Accept", "application/json"),
            // Vault Agent's API proxy with `require_request_header` refuses calls without it (its SSRF guard).
            ("X-Vault-Request", "true"),
        ]
        if let token, let text = token.utf8String() { headers.append(("X-Vault-Token", text)) }
        if namespaced, let namespace { headers.append(("X-Vault-Namespace", namespace)) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let request = HTTPRequest(method: method, url: address + "/v1/" + apiPath, headers: headers, body: body)
        let outcome: Result<HTTPAnswer, HTTPGaveUp>
        do {
            outcome = try await http.call(
                call, deadline: http.deadline(after: timeout), policy: Self.retryPolicy, changesNothing: idempotent,
                makeRequest: { request },
                judge: { outcome in
                    guard idempotent, case .success(let answer) = outcome,
                        answer.status == 429 || (500...599).contains(answer.status)
                    else { return .accept }
                    return .retry(
                        reason: "answered \(answer.status)", after: answer.retryAfter,
                        phrase: "answered \(answer.status)")
                })
        } catch {
            throw transportError(SecretError.from(error), call: call)
        }
        switch outcome {
        case .success(let answer):
            return answer
        case .failure(let gaveUp):
            // Out of attempts on a 429 or 5xx: the status says what Vault is doing (sealed, throttling).
            switch gaveUp.last {
            case .success(let answer): return answer
            case .failure(let error): throw transportError(error, call: call)
            }
        }
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
        let (token, generation) = await auth.current()
        let response = try await send(method, apiPath, body: body, token: token, idempotent: idempotent)
        guard response.status == 403, await auth.recover(afterDenialOf: generation) else { return response }
        let (fresh, _) = await auth.current()
        return try await send(method, apiPath, body: body, token: fresh, idempotent: idempotent)
    }
}
