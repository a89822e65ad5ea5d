import Logging
import SecretsCore
import SecretsHTTP

/// One logical AWS call over the HTTP layer: what AWS's error types mean for a retry, fresh
/// credentials once when AWS says they expired, and the error a call that ran out of attempts
/// becomes. Every attempt builds its request afresh, so signatures and dates are current. Shared by
/// Secrets Manager and the credential providers.
struct RetryingExchange: Sendable {
    var http: HTTPLayer
    var policy: RetryPolicy
    var service: String
    var logger: Logger

    /// - Parameters:
    ///   - readOnly: the call changes nothing (as every GET), so a request lost with a dropped
    ///     connection is sent again at once, without counting as an attempt.
    ///   - onExpiredCredentials: called once when AWS says the session token expired; returns whether
    ///     a retry with fresh credentials is worth it.
    func run(
        operation: String,
        deadline: Duration,
        readOnly: Bool = false,
        onExpiredCredentials: @Sendable () async -> Bool = { false },
        makeAttempt: @Sendable () async throws -> HTTPRequest
    ) async throws -> HTTPAnswer {
        let (service, logger) = (self.service, self.logger)
        var refreshedCredentials = false
        let outcome = try await http.call(
            operation, deadline: deadline, policy: policy, changesNothing: readOnly, makeRequest: makeAttempt
        ) { outcome in
            let answer: HTTPAnswer
            switch outcome {
            case .failure(let failure) where failure.code == .unavailable:
                return .retry(reason: failure.message)
            case .failure(let failure):
                throw SecretError(failure.code, "\(service) \(operation): \(failure.message)", cause: failure.cause)
            case .success(let success):
                answer = success
            }
            if answer.isSuccess { return .accept }
            let type = AWSErrorClassifier.errorType(answer)
            switch AWSErrorClassifier.classify(
                status: answer.status, type: type, service: service, operation: operation)
            {
            case .fail(let error):
                throw error
            case .expiredCredentials:
                if !refreshedCredentials, await onExpiredCredentials() {
                    refreshedCredentials = true
                    logger.info("AWS credentials expired; fetched new ones", metadata: ["operation": "\(operation)"])
                    return .resend
                }
                throw SecretError(.permissionDenied, "\(service) \(operation) denied (credentials expired)")
            case .retry(let reason):
                return .retry(reason: reason)
            }
        }
        switch outcome {
        case .success(let answer):
            return answer
        case .failure(let gaveUp):
            logger.warning(
                "AWS call failed",
                metadata: ["operation": "\(operation)", "attempts": "\(gaveUp.attempts)", "reason": "\(gaveUp.reason)"])
            let cause: (any Error)? =
                switch gaveUp.last {
                case .success: nil
                case .failure(let error): error.cause
                }
            throw SecretError(
                .unavailable, "\(service) \(operation) failed after \(gaveUp.attempts) attempts: \(gaveUp.reason)",
                cause: cause)
        }
    }
}
