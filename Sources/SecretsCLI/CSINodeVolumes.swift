import Crypto
import Foundation
import Logging
import SecretsCSI
import SecretsCore
import SecretsFUSE
import SecretsSupervision
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The volumes a `secretsfs csi` plugin publishes: each one a `secretsfs mount` of its own at the
/// target path, run by a unit of the node's systemd or as the plugin's daemon (`CSIMountRunner`),
/// so it outlives the plugin. What was asked for each target is kept in the state folder, so that a
/// repeated publish (the kubelet retries, and republishes to refresh tokens) is told from a
/// different one, and unpublished, by this plugin or the next.
final class CSINodeVolumes: NodeVolumes {
    let stateFolder: String
    let configFolder: String?
    let auditLog: String?
    /// The audience of the service-account token a pod's volume logs in with.
    let tokenAudience: String
    /// `--share-mounts`: volumes without a pod token and with the same options share one mount.
    let shareMounts: Bool
    let shared: CSISharedMounts
    let runner: CSIMountRunner
    let logger: Logger
    /// Targets with a call under way: the spec answers a second one ABORTED.
    private let busy = Mutex<Set<String>>([])

    init(
        stateFolder: String, configFolder: String?, auditLog: String?, tokenAudience: String, shareMounts: Bool = false,
        runMounts: CSIRunMounts = .child, logger: Logger = Logger(label: "secretsfs.csi")
    ) throws(SecretError) {
        self.stateFolder = stateFolder
        self.configFolder = configFolder
        self.auditLog = auditLog
        self.tokenAudience = tokenAudience
        self.shareMounts = shareMounts
        self.shared = CSISharedMounts(folder: stateFolder + "/shared")
        self.logger = logger
        for folder in [
            stateFolder, stateFolder + "/volumes", stateFolder + "/tokens", stateFolder + "/logs",
            stateFolder + "/shared",
        ] {
            if mkdir(folder, 0o700) != 0, errno != EEXIST {
                throw SecretError(.configuration, "cannot create the state folder \(folder): \(Self.reason())")
            }
        }
        self.runner = try CSIMountRunner.resolve(runMounts, stateFolder: stateFolder, logger: logger)
        // An earlier plugin's volumes keep serving; their records are how this one answers for them.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateFolder + "/volumes")) ?? []
        let recorded = names.filter { !$0.hasSuffix(".new") }.count
        if recorded > 0 {
            logger.info("taking over the volumes published before", metadata: ["volumes": "\(recorded)"])
        }
    }

    func publish(_ request: PublishRequest) async throws(CSIError) {
        let target = request.targetPath
        guard target.hasPrefix("/") else { throw CSIError(.invalidArgument, "target_path must be absolute") }
        let attributes = try CSIVolumeAttributes(request.context, configFolder: configFolder)
        let key = Self.key(target)
        try claim(key)
        defer { release(key) }

        // The mount's options, without its mountpoint and its owner (what a shared mount keys on).
        var options = attributes.arguments + ["--allow-other", "-o", "ro"]
        if let group = request.mountGroup, !group.isEmpty {
            // The pod's fsGroup reads the files, as it would any volume's (kubelet delegates it).
            guard UInt32(group) != nil else { throw CSIError(.invalidArgument, "volume_mount_group must be a gid") }
            if attributes.options["gid"] == nil { options.append("--gid=\(group)") }
            if attributes.options["file-mode"] == nil { options.append("--file-mode=0440") }
            if attributes.options["dir-mode"] == nil { options.append("--dir-mode=0550") }
        }
        if let auditLog { options.append("--audit-log=\(auditLog)") }
        var token: String?
        if let auth = try attributes.vaultAuth(), CSIVolumeAttributes.podAuth.contains(auth) {
            token = try Self.token(in: request.context, audience: tokenAudience)
            options.append("--vault-jwt-file=\(tokenPath(key))")
        }
        var environment: [String: String]?
        if let roleARN = attributes.awsRoleARN {
            // AWS as the pod: web identity, and none of the node's own AWS credentials to fall back on.
            token = try Self.token(in: request.context, audience: tokenAudience)
            environment = ProcessInfo.processInfo.environment.filter { !Self.nodeAWSCredentials.contains($0.key) }
            environment?["AWS_WEB_IDENTITY_TOKEN_FILE"] = tokenPath(key)
            environment?["AWS_ROLE_ARN"] = roleARN
            environment?["AWS_ROLE_SESSION_NAME"] = "secretsfs-csi-\(key.prefix(16))"
        }
        // A pod that logs in as itself never shares: its mount reads with its own token.
        let sharedKey = shareMounts && token == nil ? Self.key(options.joined(separator: "\0")) : nil
        var arguments = ["mount", target] + options
        if let owner = attributes.owner, auditLog != nil, sharedKey == nil {
            arguments.append("--audit-owner=\(owner)")
        }
        let record =
            Self.digest(
                ([request.volumeID, request.readOnly ? "ro" : "rw", attributes.awsRoleARN ?? ""] + arguments)
                    .joined(separator: "\0"))
            + (sharedKey.map { "\nshared \($0)" } ?? "")

        if Self.isServed(target) {
            guard (try? String(contentsOfFile: recordPath(key), encoding: .utf8)) == record else {
                throw CSIError(.alreadyExists, "target_path already holds a volume published with other attributes")
            }
            // A republish: the kubelet's way of handing over a fresh token before the old one expires.
            if let token { try write(token, to: tokenPath(key)) }
            return
        }
        if let token { try write(token, to: tokenPath(key)) }
        try write(record, to: recordPath(key))
        if mkdir(target, 0o750) != 0, errno != EEXIST {
            forget(key)
            throw CSIError(.internal, "cannot create target_path: \(Self.reason())")
        }
        do throws(CSIError) {
            if let sharedKey {
                try await shared.publish(sharedKey, options: options, at: target, volumes: self)
            } else {
                let verdict = await runner.start(
                    arguments, logFile: stateFolder + "/logs/\(key).log", environment: environment)
                if case .failed(let status, let line) = verdict { throw CSIError(Self.code(forExit: status), line) }
            }
        } catch {
            forget(key)
            // The folder this call made; nothing when a dead mount still sits on it (EBUSY).
            rmdir(target)
            if let sharedKey { await shared.release(sharedKey, volumes: self) }
            logger.warning("publish refused", metadata: metadata(request, attributes, sharedKey, error))
            throw error
        }
        // Which pod a volume serves: with --share-mounts the audit lines cannot say it, this line does.
        logger.info("published", metadata: metadata(request, attributes, sharedKey, nil))
    }

    private func metadata(
        _ request: PublishRequest, _ attributes: CSIVolumeAttributes, _ sharedKey: String?, _ error: CSIError?
    ) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["volume": "\(request.volumeID)", "target": "\(request.targetPath)"]
        if let owner = attributes.owner { metadata["pod"] = "\(owner)" }
        if let sharedKey { metadata["shared"] = "\(sharedKey)" }
        if let error { metadata["error"] = "\(error.message)" }
        return metadata
    }

    func unpublish(volumeID: String, targetPath: String) async throws(CSIError) {
        let key = Self.key(targetPath)
        try claim(key)
        defer { release(key) }
        try await runner.stop(targetPath)
        let sharedKey = sharedKey(ofRecord: key)
        forget(key)
        // The spec leaves removing target_path to the plugin; a second unpublish finds nothing.
        if rmdir(targetPath) != 0, errno != ENOENT {
            throw CSIError(.internal, "cannot remove target_path: \(Self.reason())")
        }
        if let sharedKey { await shared.release(sharedKey, volumes: self) }
        logger.info("unpublished", metadata: ["volume": "\(volumeID)", "target": "\(targetPath)"])
    }

    // MARK: - State

    private func recordPath(_ key: String) -> String { stateFolder + "/volumes/\(key)" }

    private func sharedKey(ofRecord key: String) -> String? {
        guard let record = try? String(contentsOfFile: recordPath(key), encoding: .utf8) else { return nil }
        return record.split(separator: "\n").first { $0.hasPrefix("shared ") }.map { String($0.dropFirst(7)) }
    }

    /// Whether any published volume's record names the shared mount `key`.
    func sharedMountIsUsed(_ key: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stateFolder + "/volumes")) ?? []
        return names.contains { !$0.hasSuffix(".new") && sharedKey(ofRecord: $0) == key }
    }
    private func tokenPath(_ key: String) -> String { stateFolder + "/tokens/\(key).jwt" }

    private func forget(_ key: String) {
        unlink(recordPath(key))
        unlink(tokenPath(key))
    }

    private func claim(_ key: String) throws(CSIError) {
        let claimed = busy.withLock { $0.insert(key).inserted }
        guard claimed else { throw CSIError(.aborted, "a call for this target_path is under way") }
    }

    private func release(_ key: String) { _ = busy.withLock { $0.remove(key) } }

    /// Written beside and renamed over, 0600, so the mount never reads half a token.
    private func write(_ text: String, to path: String) throws(CSIError) {
        guard Self.place(Data(text.utf8), at: path, mode: 0o600) else {
            throw CSIError(.internal, "cannot write the plugin's state: \(Self.reason())")
        }
    }

    /// `data` written beside `path` (never through a planted link) and renamed over it: a reader
    /// finds the old file or the whole new one. False with errno set.
    static func place(_ data: Data, at path: String, mode: mode_t) -> Bool {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        var written = 0
        data.withUnsafeBytes { bytes in
            while written < bytes.count {
                let count = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
                if count <= 0 { break }
                written += count
            }
        }
        close(fd)
        guard written == data.count, rename(temporary, path) == 0 else {
            let failure = errno
            unlink(temporary)
            errno = failure
            return false
        }
        return true
    }

    // MARK: - Helpers

    /// A live secretsfs mount: listed in mountinfo and answering STATFS (a dead one does not).
    static func isServed(_ target: String) -> Bool {
        guard MountPoint.mountType(at: MountPoint.canonical(target)) == MountPoint.secretsfsType else { return false }
        var fs = statvfs()
        return statvfs(target, &fs) == 0
    }

    /// The pod's token for `audience` from the kubelet's `serviceAccount.tokens` (a JSON map of
    /// audience to `{token, expirationTimestamp}`); never quoted in an error.
    static func token(in context: [String: String], audience: String) throws(CSIError) -> String {
        guard let text = context[CSIVolumeAttributes.tokensKey] else {
            throw CSIError(
                .invalidArgument,
                "vault-auth jwt or kubernetes needs the pod's service-account token: list the audience "
                    + "\(audience) in the CSIDriver's tokenRequests")
        }
        let tokens = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        guard let tokens else { throw CSIError(.invalidArgument, "serviceAccount.tokens is not a JSON object") }
        guard let entry = tokens[audience] as? [String: Any], let token = entry["token"] as? String, !token.isEmpty
        else {
            throw CSIError(.invalidArgument, "serviceAccount.tokens holds no token for the audience \(audience)")
        }
        return token
    }

    /// What a volume that logs in to AWS as its pod must not inherit from the plugin.
    static let nodeAWSCredentials: Set<String> = ProgramSpawn.withheld.union([
        "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    ])

    static func code(forExit status: Int32) -> CSIError.Code {
        switch status {
        case ExitStatus.usage.rawValue, ExitStatus.configuration.rawValue: .invalidArgument
        case ExitStatus.notFound.rawValue: .notFound
        case ExitStatus.unavailable.rawValue: .unavailable
        case ExitStatus.permissionDenied.rawValue: .permissionDenied
        default: .internal
        }
    }

    /// A file name for the target: its paths are long and chosen by the CO.
    static func key(_ target: String) -> String { String(digest(target).prefix(32)) }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func reason() -> String { String(cString: strerror(errno)) }
}
