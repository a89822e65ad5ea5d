import AWSSigV4
import SecretsCore

/// Static keys of a profile: `[name]` in the shared credentials file, else `[profile name]` (or
/// `[default]`) in the config file. The files are read again on every refresh, so an edited file
/// is picked up when AWS says the old key expired.
struct SharedFileCredentialProvider: CredentialProvider {
    let profile: String
    /// Named by flag or AWS_PROFILE: then a missing profile is an error, not a reason to move on.
    let profileExplicit: Bool
    let environment: [String: String]
    let homeDirectory: String
    var name: String { "shared-file" }

    func load(deadline: Duration) async throws -> AWSCredentials? {
        let files = try SharedConfigFiles.load(environment: environment, homeDirectory: homeDirectory)
        guard files.hasProfile(profile) else {
            if profileExplicit {
                throw SecretError(
                    .configuration,
                    "AWS profile '\(profile)' is in neither \(files.credentialsPath) nor \(files.configPath)")
            }
            return nil
        }
        for section in [files.credentials[profile], files.config[profile]] {
            guard let section else { continue }
            let keyID = section["aws_access_key_id"].nonEmpty
            let secret = section["aws_secret_access_key"].nonEmpty
            if keyID == nil && secret == nil { continue }
            guard let keyID, let secret else {
                throw SecretError(
                    .configuration,
                    "AWS profile '\(profile)' has only one of aws_access_key_id and aws_secret_access_key")
            }
            let signing = SigV4Credentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: section["aws_session_token"].nonEmpty)
            return AWSCredentials(signing: signing, expiration: nil, source: "\(name) profile \(profile)")
        }
        if profileExplicit {
            throw SecretError(
                .configuration,
                "AWS profile '\(profile)' has no aws_access_key_id (role, SSO and credential_process profiles are "
                    + "not supported)")
        }
        return nil
    }
}
