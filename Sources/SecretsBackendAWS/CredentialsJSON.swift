import AWSSigV4
import Foundation
import SecretsCore

/// The JSON both the container endpoint and instance metadata answer with.
struct CredentialsDocument: Decodable {
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var Expiration: String?
    var Code: String?

    /// Decodes `body` into credentials, or throws `.malformedResponse` without quoting it.
    static func credentials(from body: [UInt8], source: String) throws(SecretError) -> AWSCredentials {
        guard let document = try? JSONDecoder().decode(CredentialsDocument.self, from: Data(body)) else {
            throw SecretError(.malformedResponse, "\(source) answered with something that is not credentials JSON")
        }
        if let code = document.Code, code != "Success" {
            throw SecretError(.unavailable, "\(source) has no credentials now (\(code.prefix(40)))")
        }
        guard let keyID = document.AccessKeyId, !keyID.isEmpty, let secret = document.SecretAccessKey,
            !secret.isEmpty
        else {
            throw SecretError(.malformedResponse, "\(source) answered without AccessKeyId or SecretAccessKey")
        }
        return AWSCredentials(
            signing: SigV4Credentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: document.Token.nonEmpty),
            expiration: document.Expiration.flatMap(Timestamp.parseRFC3339), source: source)
    }
}
