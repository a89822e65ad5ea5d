/// The key a request is signed with. Its description names the access key id only: the secret key
/// and the session token must never reach a log line or an error message.
public struct SigV4Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Present for temporary credentials (STS, container, instance metadata); sent as X-Amz-Security-Token.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        let session = sessionToken == nil ? "" : ", session token: <redacted>"
        return "SigV4Credentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>\(session))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}
