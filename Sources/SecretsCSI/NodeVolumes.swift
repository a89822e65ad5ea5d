import SecretsCore

/// What a `NodePublishVolume` asks for, read off the request with the spec's required fields
/// checked: the gRPC layer's only hand-off to the code that mounts (SecretsCLI), which never sees
/// a protobuf message.
public struct PublishRequest: Sendable, Equatable {
    public var volumeID: String
    public var targetPath: String
    public var readOnly: Bool
    /// The pod's `fsGroup`, when the kubelet delegates it to the driver (`VOLUME_MOUNT_GROUP`).
    public var mountGroup: String?
    /// The volume's attributes: the CO's own `csi.storage.k8s.io/...` keys and the user's.
    public var context: [String: String]

    public init(
        volumeID: String, targetPath: String, readOnly: Bool, mountGroup: String?, context: [String: String]
    ) {
        self.volumeID = volumeID
        self.targetPath = targetPath
        self.readOnly = readOnly
        self.mountGroup = mountGroup
        self.context = context
    }
}

/// Publishes and unpublishes volumes on this node. Both must be idempotent (CSI spec): a publish
/// of the same volume with the same attributes to a target already serving it answers OK, and so
/// does an unpublish of a target that holds nothing.
public protocol NodeVolumes: Sendable {
    func publish(_ request: PublishRequest) async throws(CSIError)
    func unpublish(volumeID: String, targetPath: String) async throws(CSIError)
}

/// A failed CSI call: the spec's gRPC status code and a message that names keys, never a value
/// (the CO logs it and shows it in the pod's events).
public struct CSIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The gRPC codes the spec names for node calls.
    public enum Code: Sendable, Equatable {
        case invalidArgument, notFound, alreadyExists, failedPrecondition, aborted, unavailable, `internal`
        case unauthenticated, permissionDenied
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A store's or a mount's error, by its code; its message already names no value.
    public init(_ error: SecretError) {
        let code: Code =
            switch error.code {
            case .invalidArgument, .configuration, .nameTooLong: .invalidArgument
            case .notFound: .notFound
            case .permissionDenied: .permissionDenied
            case .unavailable: .unavailable
            default: .internal
            }
        self.init(code, error.message)
    }

    public var description: String { message }
}
