import Foundation
import SecretsCSI
import SecretsCore
import Yams

/// A CSI volume's attributes as the `secretsfs mount` arguments they stand for (DESIGN §12). The
/// keys are the mount's own option names; only those that shape what a pod sees, never one that
/// names a credential, a file on the node, a server to trust or the daemon's own lifetime: any pod
/// that may use the driver writes these. `config` names a file in the plugin's config folder,
/// which the operator writes and which may hold anything a mount's config may.
struct CSIVolumeAttributes: Sendable, Equatable {
    /// The CO's own keys (`csi.storage.k8s.io/pod.name`, …), kept apart from the user's.
    static let coPrefix = "csi.storage.k8s.io/"
    static let tokensKey = coPrefix + "serviceAccount.tokens"

    /// The options a volume may set. Everything else in the option table (`store`, `vault-addr`,
    /// `vault-token-file`, `aws-endpoint`, `cache-file`, `audit-log`, `o`, …) is the operator's.
    static let allowed: [OptionSpec] = [
        .backendKind, .vaultMount, .vaultKVVersion, .vaultPrefix, .vaultNamespace, .vaultAuth, .vaultRole,
        .vaultAuthMount, .awsRegion, .awsPrefix, .ssmPrefix, .jsonFields, .backendTimeout,
        .cacheTTL, .refreshJitter, .refreshInterval, .prefetch, .maxStale, .negativeTTL, .cacheMaxEntries,
        .directIO, .events, .showVersions, .uid, .gid, .fileMode, .dirMode,
    ]
    private static let allowedByName = Dictionary(uniqueKeysWithValues: allowed.map { ($0.name, $0) })
    /// `env` would show the plugin's own environment, which holds the node's credentials.
    static let backends: Set<String> = ["local", "vault", "aws", "ssm"]
    /// The auth methods that log in as the pod, with its service-account token.
    static let podAuth: Set<String> = ["jwt", "kubernetes"]

    /// The user's options, by name.
    var options: [String: String]
    /// The operator's config file, inside the config folder.
    var configFile: String?
    /// `aws-role-arn` (the plugin's own key, not a mount option): aws and ssm volumes log in as the
    /// pod through STS AssumeRoleWithWebIdentity with its token; the role's trust policy decides.
    var awsRoleARN: String?
    /// The CO's keys: pod name, namespace, uid, service account, ephemeral.
    var pod: [String: String]

    /// Refuses an unknown key or a value the option cannot hold, naming the key only.
    init(_ context: [String: String], configFolder: String?) throws(CSIError) {
        var options: [String: String] = [:]
        var pod: [String: String] = [:]
        var configFile: String?
        var awsRoleARN: String?
        for (key, value) in context {
            if key.hasPrefix(Self.coPrefix) {
                if key != Self.tokensKey { pod[String(key.dropFirst(Self.coPrefix.count))] = value }
            } else if key == "config" {
                configFile = try Self.configPath(value, folder: configFolder)
            } else if key == "aws-role-arn" {
                guard value.hasPrefix("arn:"), value.count <= 2048, !value.contains(where: \.isWhitespace) else {
                    throw CSIError(.invalidArgument, "volume attribute aws-role-arn must be a role ARN")
                }
                awsRoleARN = value
            } else if let spec = Self.allowedByName[key] {
                if spec.kind == .flag, value != "true", value != "false" {
                    throw CSIError(.invalidArgument, "volume attribute \(key) must be true or false")
                }
                if value.contains(where: { $0 == "\n" || $0 == "\0" }) {
                    throw CSIError(.invalidArgument, "volume attribute \(key) holds a line break")
                }
                options[key] = value
            } else {
                let reason =
                    OptionSpec.named(key) != nil
                    ? "is not one a volume may set (the plugin's config holds it)" : "is not a secretsfs option"
                throw CSIError(.invalidArgument, "volume attribute \(Self.printable(key)) \(reason)")
            }
        }
        if let configFile {
            // What the operator's file says is the operator's choice: a pod may not widen its prefix.
            let pinned: [String: Node]
            do { pinned = try ConfigFile.load(configFile).values } catch { throw CSIError(error) }
            if let key = options.keys.sorted().first(where: { pinned[$0] != nil }) {
                throw CSIError(.invalidArgument, "volume attribute \(key) is set by the plugin's config file")
            }
        }
        if let backend = options["backend"], !Self.backends.contains(backend) {
            throw CSIError(.invalidArgument, "volume attribute backend must be one of local, vault, aws, ssm")
        }
        self.options = options
        self.configFile = configFile
        self.awsRoleARN = awsRoleARN
        self.pod = pod
    }

    /// A bare file name in the folder, which must exist: a volume never names a path of the node.
    private static func configPath(_ name: String, folder: String?) throws(CSIError) -> String {
        guard let folder else {
            throw CSIError(.invalidArgument, "volume attribute config needs the plugin's --config-dir")
        }
        let bare =
            !name.isEmpty && !name.hasPrefix(".") && !name.contains("/") && name.utf8.count <= 255
            && !name.contains("\0")
        let path = folder + "/" + name
        guard bare, FileManager.default.fileExists(atPath: path) else {
            throw CSIError(.invalidArgument, "volume attribute config names no file in the plugin's config folder")
        }
        return path
    }

    /// A key is the user's text too: shown only if it looks like a name, and never long.
    static func printable(_ key: String) -> String {
        let plain = key.count <= 64 && key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
        return plain ? key : "(a key that is not an option name)"
    }

    /// The mount's arguments for these options, as `--name=value` so a value never reads as a flag.
    var arguments: [String] {
        var words: [String] = []
        if let configFile { words.append("--config=\(configFile)") }
        for key in options.keys.sorted() {
            let spec = Self.allowedByName[key]!
            if spec.kind == .flag {
                if options[key] == "true" { words.append(spec.flag) }
            } else {
                words.append("\(spec.flag)=\(options[key]!)")
            }
        }
        return words
    }

    /// The auth method the mount will use: the attribute's, else the config file's.
    func vaultAuth() throws(CSIError) -> String? {
        if let auth = options["vault-auth"] { return auth }
        guard let configFile else { return nil }
        do {
            return try ConfigFile.load(configFile).values["vault-auth"]?.string
        } catch {
            throw CSIError(error)
        }
    }

    /// Who the volume serves, as the audit log's `owner` says it: `namespace/pod` and the account.
    var owner: String? {
        guard let name = pod["pod.name"] else { return nil }
        var text = "\(pod["pod.namespace"] ?? "")/\(name)"
        if let account = pod["serviceAccount.name"] { text += " serviceaccount=\(account)" }
        if let uid = pod["pod.uid"] { text += " uid=\(uid)" }
        return text
    }
}
