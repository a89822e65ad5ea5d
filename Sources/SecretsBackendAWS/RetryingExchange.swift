import Logging
import NIOHTTP1
import SecretsCore

/// One logical call over HTTP: attempts until a success, a final error or the deadline, with
/// backoff between attempts. Every attempt builds its request afresh, so signatures and dates are
/// current. Shared by Secrets Manager and the credential providers.
struct RetryingExchange: Sendable {
    var transport: HTTPTransport
    var policy: RetryPolicy
    var service: String
    var logger: Logger

    struct Attempt: Sendable {
        var method: HTTPMethod
        var url: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    /// Immediate resends of a read whose pooled connection was dropped; more than one, since a pool can
    /// hold several connections a balancer dropped at the same time.
    static let droppedConnectionResends = 3

    /// - Parameters:
    ///   - readOnly: the call changes nothing (as every GET), so a request lost with a dropped
    ///     connection is sent again at once, without counting as an attempt.
    ///   - onExpiredCredentials: called once when AWS says the session token expired; returns whether
    ///     a retry with fresh credentials is worth it.
    func run(
        operation: String,
        deadline: ContinuousClock.Instant,
        readOnly: Bool = false,
        onExpiredCredentials: @Sendable () async -> Bool = { false },
        makeAttempt: @Sendable () async throws -> Attempt
    ) async throws -> HTTPExchange {
        var attempt = 0
        var refreshedCredentials = false
        var droppedResends = 0
        var lastReason = "no attempt made"
        while true {
            attempt += 1
            let request = try await makeAttempt()
            do {
                let exchange = try await transport.send(
                    method: request.method, url: request.url, headers: request.headers, body: request.body,
                    deadline: deadline)
                if (200..<300).contains(exchange.status) { return exchange }
                let type = AWSErrorClassifier.errorType(exchange)
                switch AWSErrorClassifier.classify(
                    status: exchange.status, type: type, service: service, operation: operation)
                {
                case .fail(let error):
                    throw error
                case .expiredCredentials:
                    if !refreshedCredentials, await onExpiredCredentials() {
                        refreshedCredentials = true
                        logger.info(
                            "AWS credentials expired; fetched new ones", metadata: ["operation": "\(operation)"])
                        attempt -= 1
                        continue
                    }
                    throw SecretError(.permissionDenied, "\(service) \(operation) denied (credentials expired)")
                case .retry(let reason):
                    lastReason = reason
                }
            } catch let failure as TransportFailure {
                lastReason = failure.detail
                if failure.kind == .tooLarge {
                    throw SecretError(.malformedResponse, "\(service) \(operation): \(failure.detail)")
                }
                // An idle connection the other end dropped says nothing about the service: no backoff,
                // no attempt used, and only the outcome reaches the caller (and its circuit breaker).
                if failure.kind == .dropped, readOnly || request.method == .GET,
                    droppedResends < Self.droppedConnectionResends, ContinuousClock.now < deadline
                {
                    droppedResends += 1
                    attempt -= 1
                    logger.debug(
                        "AWS connection closed before an answer; sending again",
                        metadata: ["operation": "\(operation)"])
                    continue
                }
            }
            let pause = policy.delay(afterAttempt: attempt)
            guard attempt < policy.maxAttempts, ContinuousClock.now + pause < deadline else {
                logger.warning(
                    "AWS call failed",
                    metadata: ["operation": "\(operation)", "attempts": "\(attempt)", "reason": "\(lastReason)"])
                throw SecretError(
                    .unavailable, "\(service) \(operation) failed after \(attempt) attempts: \(lastReason)")
            }
            logger.debug(
                "AWS call failed; retrying",
                metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "reason": "\(lastReason)"])
            try await Task.sleep(for: pause)
        }
    }
}
