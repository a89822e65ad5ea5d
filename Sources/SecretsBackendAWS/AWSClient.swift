import AWSSigV4
import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// An AWS service spoken over the JSON 1.1 protocol, as the client needs to know it.
struct AWSService: Sendable {
    /// The SigV4 service name.
    var signingName: String
    /// What `X-Amz-Target` puts before `.<Operation>`.
    var targetPrefix: String
    /// For messages: "Secrets Manager".
    var displayName: String
    /// Actions that change nothing: sent again at once when their connection was dropped under them.
    var readOnlyOperations: Set<String>

    static let secretsManager = AWSService(
        signingName: "secretsmanager", targetPrefix: "secretsmanager", displayName: "Secrets Manager",
        readOnlyOperations: [
            "GetSecretValue", "ListSecrets", "DescribeSecret", "ListSecretVersionIds", "GetRandomPassword",
        ])
    static let parameterStore = AWSService(
        signingName: "ssm", targetPrefix: "AmazonSSM", displayName: "SSM",
        readOnlyOperations: ["GetParameter", "GetParametersByPath", "GetParameterHistory", "DescribeParameters"])
}

/// One AWS service over the JSON 1.1 protocol: POST `/` with `X-Amz-Target: <prefix>.<Operation>`,
/// signed with SigV4, retried within the call's deadline, errors told apart by `__type`.
final class AWSClient: Sendable {
    let service: AWSService
    let endpoint: Endpoint
    let signer: SigV4Signer
    let credentials: CredentialChain
    let timeout: Duration
    let exchange: RetryingExchange
    var logger: Logger { exchange.logger }
    /// The signing date, from the store's clock.
    func now() -> Date { exchange.http.clock.wallNow() }

    init(
        service: AWSService = .secretsManager, endpoint: Endpoint, region: String, credentials: CredentialChain,
        http: HTTPLayer, timeout: Duration, retryPolicy: RetryPolicy = RetryPolicy(), logger: Logger
    ) {
        self.service = service
        self.endpoint = endpoint
        self.signer = SigV4Signer(region: region, service: service.signingName)
        self.credentials = credentials
        self.timeout = timeout
        self.exchange = RetryingExchange(
            http: http, policy: retryPolicy, service: service.displayName, logger: logger)
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
        let target = "\(service.targetPrefix).\(operation)"
        let answer = try await exchange.run(
            operation: operation, deadline: deadline, readOnly: service.readOnlyOperations.contains(operation),
            onExpiredCredentials: {
                await credentials.invalidate()
                return true
            },
            makeAttempt: {
                let key = try await credentials.current()
                let headers: [(name: String, value: String)] = [
                    ("Host", endpoint.hostHeader),
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("X-Amz-Target", target),
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
                "\(service.displayName) answer is not the expected JSON",
                metadata: ["operation": "\(operation)", "bytes": "\(answer.body.count)"])
            throw SecretError(
                .malformedResponse, "\(service.displayName) \(operation) answer is not the expected JSON")
        }
    }

    /// Walks every page of a paged action: `page` makes one call with the token it is given and
    /// returns the answer's next token. A token seen before ends the walk, so a server that hands
    /// back one it gave already cannot keep the caller looping.
    func everyPage(_ page: (String?) async throws -> String?) async throws {
        var token: String?
        var seen: Set<String> = []
        repeat {
            token = try await page(token).nonEmpty
        } while token.map({ seen.insert($0).inserted }) == true
    }
}
