import AWSSigV4
import SecretsCore

/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN of the daemon's
/// environment (as injected; never read from the process here).
struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: [String: String]
    var name: String { "environment" }

    func load(deadline: Duration) async throws -> AWSCredentials? {
        let keyID = environment["AWS_ACCESS_KEY_ID"].nonEmpty
        let secret = environment["AWS_SECRET_ACCESS_KEY"].nonEmpty
        switch (keyID, secret) {
        case (nil, nil):
            return nil
        case (let keyID?, let secret?):
            let signing = SigV4Credentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].nonEmpty)
            return AWSCredentials(signing: signing, expiration: nil, source: name)
        case (nil, _):
            throw SecretError(.configuration, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil):
            throw SecretError(.configuration, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
    }
}
