import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Serves Identity and Node on a unix socket until graceful shutdown (SIGTERM).
public struct CSIServer: Service {
    public let socketPath: String
    public let identity: PluginIdentity
    public let volumes: any NodeVolumes

    public init(socketPath: String, identity: PluginIdentity, volumes: any NodeVolumes) {
        self.socketPath = socketPath
        self.identity = identity
        self.volumes = volumes
    }

    /// The `--endpoint` as the CSI sidecars write it: `unix:///path` (or `unix:/path`, or a bare path).
    public static func socketPath(ofEndpoint endpoint: String) -> String? {
        var path = endpoint
        if path.hasPrefix("unix://") {
            path.removeFirst("unix://".count)
        } else if path.hasPrefix("unix:") {
            path.removeFirst("unix:".count)
        }
        return path.hasPrefix("/") ? path : nil
    }

    public func run() async throws {
        // A socket left by a plugin that was killed would refuse the bind; the node-driver-registrar
        // and kubelet find the new one at the same path.
        unlink(socketPath)
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext),
            services: [IdentityService(identity: identity), NodeService(identity: identity, volumes: volumes)])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.serve()
                } onGracefulShutdown: {
                    server.beginGracefulShutdown()
                }
            }
            // Only root (the kubelet, the registrar) may call it: a publish mounts on the node.
            if try await server.listeningAddress != nil { chmod(socketPath, 0o600) }
        }
    }
}
