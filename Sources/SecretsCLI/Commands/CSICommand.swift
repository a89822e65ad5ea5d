import ArgumentParser
import Logging
import SecretsCSI
import SecretsCore
import SecretsFileSystem
import SecretsSupervision
import ServiceLifecycle

/// `secretsfs csi`: the Kubernetes CSI node plugin (DESIGN §12). Each inline ephemeral volume a
/// kubelet publishes is a read-only secretsfs mount of its own; the plugin only starts and stops them.
struct CSICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csi",
        abstract: "Serve the CSI node plugin on a unix socket: each published volume is a secretsfs mount.",
        discussion: """
            A volume's attributes are mount options by name (backend, vault-prefix, cache-ttl, ...) and \
            config, a file in --config-dir; credentials, addresses and files on the node come from that file \
            or the plugin's environment, never from a volume.
            """)

    @Option(help: "Where to listen, as the CSI sidecars name it: unix:///csi/csi.sock.") var endpoint: String
    @Option(name: .customLong("node-id"), help: "This node's name, as NodeGetInfo answers it.") var nodeID: String
    @Option(name: .customLong("driver-name"), help: "The CSIDriver object's name.")
    var driverName = "secretsfs.csi.secretsfs.dev"
    @Option(name: .customLong("config-dir"), help: "The folder of config files a volume's config attribute names.")
    var configDir: String?
    @Option(
        name: .customLong("state-dir"),
        help: "Where each published volume is recorded (keep it on the node so a new plugin finds it).")
    var stateDir = "/var/lib/secretsfs-csi"
    @Option(name: .customLong("audit-log"), help: "Each volume's mount appends its audit lines here, with its pod.")
    var auditLog: String?
    @Option(
        name: .customLong("token-audience"),
        help: "The audience of the pod service-account token used for vault-auth jwt or kubernetes.")
    var tokenAudience = "secretsfs"
    @Flag(
        name: .customLong("share-mounts"),
        help: "Volumes with the same options and no pod token share one mount (and cache) on the node.")
    var shareMounts = false
    @Option(
        name: .customLong("run-mounts"),
        help: """
            Who runs each volume's mount: systemd (a unit of the node's systemd, through /run/systemd: outlives \
            the plugin's container), child (the plugin's daemon: outlives the plugin process only), auto (systemd \
            when it answers).
            """)
    var runMounts: CSIRunMounts = .auto
    @Option(name: .customLong("log-level"), help: "Least level logged.") var logLevel: Logger.Level = .info

    func validate() throws {
        if CSIServer.socketPath(ofEndpoint: endpoint) == nil {
            throw ValidationError("--endpoint must be unix:///an/absolute/path")
        }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { LineLogHandler(label: $0, level: level, format: .text) }
        let logger = Logger(label: "secretsfs.csi")
        let volumes = try CSINodeVolumes(
            stateFolder: stateDir, configFolder: configDir, auditLog: auditLog, tokenAudience: tokenAudience,
            shareMounts: shareMounts, runMounts: runMounts, logger: logger)
        let server = CSIServer(
            socketPath: CSIServer.socketPath(ofEndpoint: endpoint)!,
            identity: PluginIdentity(name: driverName, version: SecretsFSVersion.string, nodeID: nodeID),
            volumes: volumes)
        logger.info("serving CSI", metadata: ["endpoint": "\(endpoint)", "driver": "\(driverName)"])
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
