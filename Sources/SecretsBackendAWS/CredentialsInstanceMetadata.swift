import AWSSigV4
import Foundation
import Logging
import SecretsCore
import SecretsHTTP

/// EC2 instance metadata with the IMDSv2 token flow: PUT /latest/api/token, then the role name and
/// its credentials under /latest/meta-data/iam/security-credentials/. AWS_EC2_METADATA_DISABLED=true
/// removes it from the chain; AWS_EC2_METADATA_SERVICE_ENDPOINT points it elsewhere.
struct InstanceMetadataCredentialProvider: CredentialProvider {
    let endpoint: Endpoint
    let http: HTTPLayer
    let exchange: RetryingExchange
    let logger: Logger
    var name: String { "instance-metadata" }

    /// Off EC2 nothing answers at 169.254.169.254: give up on the first request quickly (1 s, or
    /// AWS_METADATA_SERVICE_TIMEOUT seconds, as the SDKs read it).
    let probeTimeout: Duration
    static let tokenTTLSeconds = "21600"
    static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    init?(environment: [String: String], http: HTTPLayer, logger: Logger) throws(SecretError) {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        let text = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].nonEmpty ?? "http://169.254.169.254"
        endpoint = try Endpoint(parsing: text, what: "AWS_EC2_METADATA_SERVICE_ENDPOINT")
        let seconds =
            environment["AWS_METADATA_SERVICE_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 1
        probeTimeout = .milliseconds(Int64(seconds * 1000))
        self.http = http
        self.logger = logger
        exchange = RetryingExchange(
            http: http, policy: RetryPolicy(maxAttempts: 3), service: "instance metadata", logger: logger)
    }

    func load(deadline: Duration) async throws -> AWSCredentials? {
        let tokenAnswer: HTTPAnswer
        do throws(SecretError) {
            let request = HTTPRequest(
                method: .PUT, url: endpoint.url("/latest/api/token"),
                headers: [
                    ("Host", endpoint.hostHeader), ("X-aws-ec2-metadata-token-ttl-seconds", Self.tokenTTLSeconds),
                ],
                body: [])
            tokenAnswer = try await http.send(request, deadline: min(deadline, http.deadline(after: probeTimeout)))
        } catch {
            logger.debug("no instance metadata service", metadata: ["reason": "\(error.message)"])
            return nil
        }
        guard (200..<300).contains(tokenAnswer.status) else {
            throw SecretError(.unavailable, "instance metadata refused a session token (HTTP \(tokenAnswer.status))")
        }
        let token = String(decoding: tokenAnswer.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let headers: [(name: String, value: String)] = [
            ("Host", endpoint.hostHeader), ("X-aws-ec2-metadata-token", token),
        ]
        let endpoint = self.endpoint
        let roles = try await exchange.run(operation: "ListRoles", deadline: deadline) {
            HTTPRequest(method: .GET, url: endpoint.url(Self.credentialsPath), headers: headers)
        }
        let role = String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let role, !role.isEmpty, !role.contains("/") else {
            throw SecretError(.configuration, "this instance has no IAM role attached")
        }
        let answer = try await exchange.run(operation: "GetCredentials", deadline: deadline) {
            HTTPRequest(
                method: .GET, url: endpoint.url(Self.credentialsPath + SigV4Encoding.uriEncode(role)), headers: headers)
        }
        return try CredentialsDocument.credentials(from: answer.body, source: name)
    }
}
