import GRPCCore
import SwiftProtobuf

/// The plugin's name and version, as `GetPluginInfo` answers and the CSIDriver object names it.
public struct PluginIdentity: Sendable {
    public var name: String
    public var version: String
    public var nodeID: String

    public init(name: String, version: String, nodeID: String) {
        self.name = name
        self.version = version
        self.nodeID = nodeID
    }
}

/// Identity: who the plugin is, that it has no controller, and that it is ready.
struct IdentityService: Csi_V1_Identity.SimpleServiceProtocol {
    let identity: PluginIdentity

    func getPluginInfo(request: Csi_V1_GetPluginInfoRequest, context: ServerContext) async throws
        -> Csi_V1_GetPluginInfoResponse
    {
        .with {
            $0.name = identity.name
            $0.vendorVersion = identity.version
        }
    }

    /// None: a node-only plugin for ephemeral volumes has no controller and no topology.
    func getPluginCapabilities(request: Csi_V1_GetPluginCapabilitiesRequest, context: ServerContext) async throws
        -> Csi_V1_GetPluginCapabilitiesResponse
    {
        Csi_V1_GetPluginCapabilitiesResponse()
    }

    func probe(request: Csi_V1_ProbeRequest, context: ServerContext) async throws -> Csi_V1_ProbeResponse {
        .with { $0.ready = Google_Protobuf_BoolValue(true) }
    }
}

/// Node: the required fields checked here, as the spec orders (INVALID_ARGUMENT for each missing
/// one), then the volume handed to `NodeVolumes`.
struct NodeService: Csi_V1_Node.SimpleServiceProtocol {
    let identity: PluginIdentity
    let volumes: any NodeVolumes

    func nodePublishVolume(request: Csi_V1_NodePublishVolumeRequest, context: ServerContext) async throws
        -> Csi_V1_NodePublishVolumeResponse
    {
        guard !request.volumeID.isEmpty else { throw RPCError(code: .invalidArgument, message: "volume_id is missing") }
        guard !request.targetPath.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "target_path is missing")
        }
        guard request.hasVolumeCapability else {
            throw RPCError(code: .invalidArgument, message: "volume_capability is missing")
        }
        guard case .mount(let mount) = request.volumeCapability.accessType else {
            throw RPCError(code: .invalidArgument, message: "only the mount access type is served, not block")
        }
        // Files are read-only whatever the mode; a writer mode is what a kubelet asks for an inline volume.
        let published = PublishRequest(
            volumeID: request.volumeID, targetPath: request.targetPath, readOnly: request.readonly,
            mountGroup: mount.volumeMountGroup.isEmpty ? nil : mount.volumeMountGroup,
            context: request.volumeContext)
        do {
            try await volumes.publish(published)
        } catch {
            throw RPCError(error)
        }
        return Csi_V1_NodePublishVolumeResponse()
    }

    func nodeUnpublishVolume(request: Csi_V1_NodeUnpublishVolumeRequest, context: ServerContext) async throws
        -> Csi_V1_NodeUnpublishVolumeResponse
    {
        guard !request.volumeID.isEmpty else { throw RPCError(code: .invalidArgument, message: "volume_id is missing") }
        guard !request.targetPath.isEmpty else {
            throw RPCError(code: .invalidArgument, message: "target_path is missing")
        }
        do {
            try await volumes.unpublish(volumeID: request.volumeID, targetPath: request.targetPath)
        } catch {
            throw RPCError(error)
        }
        return Csi_V1_NodeUnpublishVolumeResponse()
    }

    /// VOLUME_MOUNT_GROUP: the kubelet then hands the pod's fsGroup to the plugin, which makes it
    /// the files' group; a kubelet cannot chown a read-only FUSE mount itself.
    func nodeGetCapabilities(request: Csi_V1_NodeGetCapabilitiesRequest, context: ServerContext) async throws
        -> Csi_V1_NodeGetCapabilitiesResponse
    {
        .with {
            $0.capabilities = [.with { $0.rpc = .with { $0.type = .volumeMountGroup } }]
        }
    }

    func nodeGetInfo(request: Csi_V1_NodeGetInfoRequest, context: ServerContext) async throws
        -> Csi_V1_NodeGetInfoResponse
    {
        .with { $0.nodeID = identity.nodeID }
    }
}

extension RPCError {
    /// The one place a plugin error becomes a gRPC status.
    init(_ error: CSIError) {
        let code: RPCError.Code =
            switch error.code {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .failedPrecondition: .failedPrecondition
            case .aborted: .aborted
            case .unavailable: .unavailable
            case .internal: .internalError
            case .unauthenticated: .unauthenticated
            case .permissionDenied: .permissionDenied
            }
        self.init(code: code, message: error.message)
    }
}
