import AWSSigV4
import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME): the token file is read on
/// every fetch (Kubernetes rotates it) and exchanged at STS with AssumeRoleWithWebIdentity, an
/// unsigned query-protocol call answered in XML. AWS_ENDPOINT_URL_STS (else AWS_ENDPOINT_URL)
/// points it elsewhere.
struct WebIdentityCredentialProvider: CredentialProvider {
    let tokenFile: String
    let roleARN: String
    let sessionName: String
    let endpoint: Endpoint
    let exchange: RetryingExchange
    var name: String { "web-identity" }

    /// Nil when neither variable is set; a configuration error when only one is.
    init?(environment: [String: String], region: String, http: HTTPLayer, logger: Logger) throws(SecretError) {
        let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].nonEmpty
        let roleARN = environment["AWS_ROLE_ARN"].nonEmpty
        guard tokenFile != nil || roleARN != nil else { return nil }
        guard let tokenFile, let roleARN else {
            throw SecretError(
                .configuration, "web identity needs both AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN; one is missing")
        }
        self.tokenFile = tokenFile
        self.roleARN = roleARN
        self.sessionName =
            environment["AWS_ROLE_SESSION_NAME"].nonEmpty ?? "secretsfs-\(UUID().uuidString.prefix(8).lowercased())"
        let endpointText =
            environment["AWS_ENDPOINT_URL_STS"].nonEmpty ?? environment["AWS_ENDPOINT_URL"].nonEmpty
            ?? "https://sts.\(region).amazonaws.com"
        self.endpoint = try Endpoint(parsing: endpointText, what: "STS endpoint")
        self.exchange = RetryingExchange(http: http, policy: RetryPolicy(), service: "STS", logger: logger)
    }

    func load(deadline: Duration) async throws -> AWSCredentials? {
        var data = try TrustedFile.read(tokenFile, what: "the web identity token file")
        defer { data.zeroize() }
        var token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { token = "" }
        guard !token.isEmpty else {
            throw SecretError(.configuration, "the web identity token file \(tokenFile) is empty")
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("WebIdentityToken", token),
        ].map { "\(SigV4Encoding.uriEncode($0.0))=\(SigV4Encoding.uriEncode($0.1))" }.joined(separator: "&")
        let endpoint = self.endpoint
        let body = Array(form.utf8)
        let answer = try await exchange.run(operation: "AssumeRoleWithWebIdentity", deadline: deadline) {
            HTTPRequest(
                method: .POST, url: endpoint.url("/"),
                headers: [
                    ("Host", endpoint.hostHeader), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ],
                body: body)
        }
        guard let keyID = XMLFields.first("AccessKeyId", in: answer.body),
            let secret = XMLFields.first("SecretAccessKey", in: answer.body),
            let session = XMLFields.first("SessionToken", in: answer.body)
        else {
            exchange.logger.error("STS answered AssumeRoleWithWebIdentity without credentials")
            throw SecretError(.malformedResponse, "STS AssumeRoleWithWebIdentity answer holds no credentials")
        }
        let expiration = XMLFields.first("Expiration", in: answer.body).flatMap(Timestamp.parseRFC3339)
        return AWSCredentials(
            signing: SigV4Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: session),
            expiration: expiration, source: name)
    }
}
