// The HTTP side of the Vault backend: one shared HTTPClient, deadlines, retries of reads, and the
// translation of statuses and transport failures into SecretError. Nothing here reads or logs a body.
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SecretsCore

struct VaultResponse: Sendable {
    var status: UInt
    var body: [UInt8]
    /// From a Retry-After header given in seconds, the form Vault and proxies use.
    var retryAfter: TimeAmount? = nil

    var isSuccess: Bool { (200..<300).contains(status) }
}

final class VaultClient: Sendable {
    /// A body larger than this is not an answer we understand; reading it all would only cost memory.
    static let maxBodyBytes = 32 << 20
    /// Attempts of one idempotent call, the first included.
    static let maxAttempts = 3
    /// Immediate retries of a read whose pooled connection the server (or a balancer) had dropped. More
    /// than one, because a pool can hold several connections that were dropped at the same time.
    static let droppedConnectionRetries = 3

    let address: String
    let namespace: String?
    let timeout: Duration
    private let http: HTTPClient
    private let logger: Logger

    init(configuration: VaultConfiguration, logger: Logger) throws(SecretError) {
        self.address = configuration.address
        self.namespace = configuration.namespace
        self.timeout = configuration.timeout
        self.logger = logger
        let tls = try Self.tlsConfiguration(configuration, logger: logger)
        let amount = Self.timeAmount(configuration.timeout)
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // A redirect would carry the token header to wherever it points; Vault forwards to the
            // active node itself.
            redirectConfiguration: .disallow,
            timeout: .init(connect: amount, read: amount)
        )
        // No spans are exported; without a tracer the client skips building their attributes per call.
        httpConfiguration.tracing.tracer = nil
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
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
                throw SecretError(.configuration, "the Vault CA certificate file \(file) is not readable PEM")
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

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.nanoseconds)
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
    ) async throws(SecretError) -> VaultResponse {
        let deadline = NIODeadline.now() + Self.timeAmount(timeout)
        let call = "\(method.rawValue) \(Self.shownPath(apiPath))"
        var attempt = 1
        var droppedRetries = 0
        while true {
            let response: VaultResponse
            do {
                response = try await sendOnce(
                    method, apiPath, body: body, token: token, namespaced: namespaced, deadline: deadline)
            } catch {
                // A keep-alive connection the server closed while idle fails the next request sent on it
                // before any answer. That says nothing about the server, so a read goes again at once on
                // another connection, and only its outcome counts (for the caller and the breaker).
                if idempotent || method == .GET, droppedRetries < Self.droppedConnectionRetries,
                    Self.isDroppedConnection(error), NIODeadline.now() < deadline
                {
                    droppedRetries += 1
                    logger.debug(
                        "Vault connection closed before an answer; sending again", metadata: ["call": "\(call)"])
                    continue
                }
                throw transportError(error, call: call)
            }
            let retryable = response.status == 429 || (500...599).contains(response.status)
            guard idempotent, retryable, attempt < Self.maxAttempts else { return response }
            let pause = Self.backoff(attempt: attempt, retryAfter: response.retryAfter)
            guard NIODeadline.now() + pause < deadline else { return response }
            logger.debug(
                "Vault answered \(response.status); retrying", metadata: ["call": "\(call)", "attempt": "\(attempt)"])
            do {
                try await Task.sleep(nanoseconds: UInt64(max(pause.nanoseconds, 0)))
            } catch {
                throw SecretError(.unavailable, "Vault call cancelled")
            }
            attempt += 1
        }
    }

    /// Full jitter on an exponential base (AWS architecture blog's "exponential backoff and jitter"),
    /// unless the server said when to come back.
    static func backoff(attempt: Int, retryAfter: TimeAmount?) -> TimeAmount {
        if let retryAfter { return retryAfter }
        let ceiling = Int64(100_000_000) << Int64(min(attempt, 6))
        return .nanoseconds(Int64.random(in: (ceiling / 4)...ceiling))
    }

    private func sendOnce(
        _ method: HTTPMethod,
        _ apiPath: String,
        body: [UInt8]?,
        token: SecretValue?,
        namespaced: Bool,
        deadline: NIODeadline
    ) async throws -> VaultResponse {
        var request = HTTPClientRequest(url: address + "/v1/" + apiPath)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        // Vault Agent's API proxy with `require_request_header` refuses calls without it (its SSRF guard).
        request.headers.add(name: "X-Vault-Request", value: "true")
        if let token, let text = token.utf8String() { request.headers.add(name: "X-Vault-Token", value: text) }
        if namespaced, let namespace { request.headers.add(name: "X-Vault-Namespace", value: namespace) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, deadline: deadline, logger: nil)
        var collected = try await response.body.collect(upTo: Self.maxBodyBytes)
        let bytes = collected.readBytes(length: collected.readableBytes) ?? []
        var result = VaultResponse(status: response.status.code, body: bytes)
        result.retryAfter = response.headers.first(name: "Retry-After").flatMap(Int64.init).map { .seconds($0) }
        return result
    }

    /// A connection closed or reset under a request before its answer began: what a request meets on a
    /// pooled connection the other end dropped while it sat idle. A refused connection is not one.
    static func isDroppedConnection(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .remoteConnectionClosed
        case let error as IOError:
            return [ECONNRESET, EPIPE].contains(error.errnoCode)
        case let error as ChannelError:
            return [.ioOnClosedChannel, .outputClosed, .eof, .inputClosed].contains(error)
        default:
            return false
        }
    }

    /// A failure before any status: the message keeps the kind of failure, which never holds a body.
    private func transportError(_ error: any Error, call: String) -> SecretError {
        let reason: String
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                reason = "timed out after \(timeout)"
            case .bodyLengthMismatch, .remoteConnectionClosed:
                reason = "connection closed"
            default:
                reason = "\(error)"
            }
        case is NIOSSLError, is BoringSSLError:
            reason = "TLS handshake failed (is --vault-cacert right?)"
        case let error as IOError:
            reason = "connection failed (\(error.errnoCode == ECONNREFUSED ? "refused" : "errno \(error.errnoCode)"))"
        case is NIOTooManyBytesError:
            reason = "answer larger than \(Self.maxBodyBytes) bytes"
        case is ChannelError:
            // A pooled keep-alive connection to a server that died is seen closed, not refused.
            reason = "connection closed"
        case is CancellationError:
            reason = "cancelled"
        default:
            reason = "connection failed (\(type(of: error)))"
        }
        logger.warning("Vault call failed", metadata: ["call": "\(call)", "reason": "\(reason)"])
        return SecretError(.unavailable, "Vault at \(address) is unavailable: \(reason)")
    }

    /// The call as a log line shows it: the API path, which names secrets but never holds a value.
    static func shownPath(_ apiPath: String) -> String {
        apiPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? apiPath
    }

    func shutdown() async {
        do {
            try await http.shutdown()
        } catch {
            logger.debug("Vault HTTP client shut down with \(type(of: error))")
        }
    }
}
