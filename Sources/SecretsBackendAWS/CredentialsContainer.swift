import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// ECS and EKS Pod Identity credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (below
/// 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with the Authorization header from
/// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every fetch) or AWS_CONTAINER_AUTHORIZATION_TOKEN.
struct ContainerCredentialProvider: CredentialProvider {
    let url: String
    let endpoint: Endpoint
    let tokenFile: String?
    let token: String?
    let exchange: RetryingExchange
    var name: String { "container" }

    static let ecsHost = "169.254.170.2"
    /// Plain http is accepted only to the addresses the SDKs allow: loopback and the ECS/EKS agents.
    static let plainHTTPHosts: Set<String> = [
        "localhost", "169.254.170.2", "169.254.170.23", "[::1]", "[fd00:ec2::23]",
    ]

    init?(environment: [String: String], http: HTTPLayer, logger: Logger) throws(SecretError) {
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"].nonEmpty {
            url = "http://\(Self.ecsHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"].nonEmpty {
            url = full
        } else {
            return nil
        }
        endpoint = try Endpoint(parsing: url, what: "container credentials URI")
        if endpoint.scheme == "http", !Self.plainHTTPHosts.contains(endpoint.host), !endpoint.host.hasPrefix("127.") {
            throw SecretError(
                .configuration,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http to a loopback or ECS/EKS agent address")
        }
        tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].nonEmpty
        token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"].nonEmpty
        exchange = RetryingExchange(
            http: http, policy: RetryPolicy(maxAttempts: 3), service: "container credentials", logger: logger)
    }

    func load(deadline: Duration) async throws -> AWSCredentials? {
        var authorization = token
        if let tokenFile {
            var data = try TrustedFile.read(tokenFile, what: "the container authorization token file")
            defer { data.zeroize() }
            authorization = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let authorization, authorization.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw SecretError(.configuration, "the container authorization token holds a line break")
        }
        var headers: [(name: String, value: String)] = [("Host", endpoint.hostHeader), ("Accept", "application/json")]
        if let authorization { headers.append(("Authorization", authorization)) }
        let url = self.url
        let answer = try await exchange.run(operation: "GetCredentials", deadline: deadline) { [headers] in
            HTTPRequest(method: .GET, url: url, headers: headers)
        }
        return try CredentialsDocument.credentials(from: answer.body, source: name)
    }
}
