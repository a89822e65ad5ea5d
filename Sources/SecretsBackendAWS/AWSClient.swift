import AWSSigV4
import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// Secrets Manager over the JSON 1.1 protocol: POST `/` with `X-Amz-Target: secretsmanager.<Operation>`,
/// signed with SigV4, retried within the call's deadline, errors told apart by `__type`.
final class AWSClient: Sendable {
    let endpoint: Endpoint
    let signer: SigV4Signer
    let credentials: CredentialChain
    let timeout: Duration
    let exchange: RetryingExchange
    var logger: Logger { exchange.logger }
    /// The signing date, from the store's clock.
    func now() -> Date { exchange.http.clock.wallNow() }

    /// Actions that change nothing: sent again at once when their connection was dropped under them.
    static let readOnlyOperations: Set<String> = [
        "GetSecretValue", "ListSecrets", "DescribeSecret", "ListSecretVersionIds", "GetRandomPassword",
    ]

    init(
        endpoint: Endpoint, region: String, credentials: CredentialChain, http: HTTPLayer, timeout: Duration,
        retryPolicy: RetryPolicy = RetryPolicy(), logger: Logger
    ) {
        self.endpoint = endpoint
        self.signer = SigV4Signer(region: region, service: "secretsmanager")
        self.credentials = credentials
        self.timeout = timeout
        self.exchange = RetryingExchange(
            http: http, policy: retryPolicy, service: "Secrets Manager", logger: logger)
    }

    func call<Answer: Decodable>(
        _ operation: String, _ request: some Encodable, as answerType: Answer.Type = Answer.self
    ) async throws -> Answer {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            throw SecretError(.internal, "cannot encode \(operation) request", cause: error)
        }
        let deadline = exchange.http.deadline(after: timeout)
        let (endpoint, signer, credentials, clock) = (self.endpoint, self.signer, self.credentials, exchange.http.clock)
        let answer = try await exchange.run(
            operation: operation, deadline: deadline, readOnly: Self.readOnlyOperations.contains(operation),
            onExpiredCredentials: {
                await credentials.invalidate()
                return true
            },
            makeAttempt: {
                let key = try await credentials.current()
                let headers: [(name: String, value: String)] = [
                    ("Host", endpoint.hostHeader),
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Target", "secretsmanager.\(operation)"),
                ]
                let signed = signer.sign(
                    SigV4Request(method: "POST", path: endpoint.requestPath("/"), headers: headers, body: body),
                    credentials: key.signing, date: clock.wallNow())
                return HTTPRequest(method: .POST, url: endpoint.url("/"), headers: headers + signed.headers, body: body)
            })
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(answer.body))
        } catch {
            // The body may hold a secret: say what was wrong with it, never what it said. The decoder's
            // error is not kept as the cause either: it can quote the body, and a failure may be held
            // (the cache's last error) long after the answer's bytes are gone.
            logger.error(
                "Secrets Manager answer is not the expected JSON",
                metadata: ["operation": "\(operation)", "bytes": "\(answer.body.count)"])
            throw SecretError(.malformedResponse, "Secrets Manager \(operation) answer is not the expected JSON")
        }
    }
}
