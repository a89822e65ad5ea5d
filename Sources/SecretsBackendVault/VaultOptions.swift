import Foundation
import SecretsCore

/// What the command line says about Vault. Every field is optional: nil means "not given", and
/// `VaultConfiguration.resolve` fills it from the environment or a default (flags win over the environment).
public struct VaultOptions: Sendable {
    /// `--vault-addr`, else `VAULT_ADDR`: one address, or several separated by commas (the nodes of
    /// an HA cluster, tried in order).
    public var address: String?
    /// `--vault-token-file`; else `VAULT_TOKEN` (the value); else `~/.vault-token`.
    public var tokenFile: String?
    /// `--vault-namespace`, else `VAULT_NAMESPACE`; sent as `X-Vault-Namespace`.
    public var namespace: String?
    /// `--vault-mount`, default `secret`.
    public var mount: String?
    /// `--vault-prefix`: the sub-path shown at the mount's root.
    public var prefix: String?
    /// `token`, `approle`, `jwt` or `kubernetes` (default `token`).
    public var auth: String?
    /// `--vault-role-id` (approle).
    public var roleID: String?
    /// `--vault-secret-id-file` (approle).
    public var secretIDFile: String?
    /// `--vault-role` (jwt, kubernetes).
    public var role: String?
    /// `--vault-jwt-file`; for kubernetes the service account token by default.
    public var jwtFile: String?
    /// `--vault-auth-mount`; defaults to the method's name.
    public var authMount: String?
    /// `--vault-cacert`, else `VAULT_CACERT`.
    public var caCertFile: String?
    /// `--vault-skip-verify`, else `VAULT_SKIP_VERIFY`.
    public var skipVerify: Bool?
    /// `--vault-kv-version`: 1 or 2; found from the mount's own description when not given.
    public var kvVersion: Int?
    /// The deadline of one backend call, retries included; `BackendTimeout.standard` by default, and
    /// refused when not above zero.
    public var timeout: Duration?
    /// Start even when Vault cannot be reached (a worker replacing one that died, whose cache
    /// still has the values): the token is checked on first use instead.
    public var startUnreachable = false
    /// PKI certificates to issue and show as folders (`certificates:` in the config).
    public var certificates: [VaultCertificateRequest] = []
    /// Dynamic credentials to make, renew and show as folders (`leases:` in the config).
    public var leases: [VaultLeaseRequest] = []

    public init() {}

    /// The variables that stand in for an option the command line leaves out, in the order they are
    /// tried. Declared here, where their meaning is (`VAULT_TOKEN` is the token itself, not a file), and
    /// read from here by the command line's option table.
    public enum Environment {
        public static let address = ["VAULT_ADDR"]
        public static let token = ["VAULT_TOKEN"]
        public static let namespace = ["VAULT_NAMESPACE"]
        public static let caCertFile = ["VAULT_CACERT"]
        public static let skipVerify = ["VAULT_SKIP_VERIFY"]
    }

    /// The KV v2 mount when `--vault-mount` is not given.
    public static let defaultMount = "secret"
}

/// Where the token of `--vault-auth token` comes from. A file is re-read when Vault refuses the token,
/// so a token refreshed by Vault Agent's file sink is picked up.
enum VaultTokenSource: Sendable {
    case value(SecretValue)
    case file(String)
}

enum VaultAuthMethod: Sendable {
    case token(VaultTokenSource)
    case appRole(mount: String, roleID: String, secretIDFile: String)
    /// `jwt` and `kubernetes` log in the same way: a role and a JWT read from a file at each login.
    case jwt(kind: String, mount: String, role: String, jwtFile: String)

    var name: String {
        switch self {
        case .token: return "token"
        case .appRole: return "approle"
        case .jwt(let kind, _, _, _): return kind
        }
    }

    var canLogIn: Bool {
        if case .token = self { return false }
        return true
    }
}

/// `VaultOptions` resolved against the environment and checked: what the store runs with.
struct VaultConfiguration: Sendable {
    static let kubernetesTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

    /// The nodes, in the order given: at least one, no two alike.
    var addresses: [String]
    var namespace: String?
    var mount: [String]
    var prefix: [String]
    var auth: VaultAuthMethod
    var caCertFile: String?
    var skipVerify: Bool
    var timeout: Duration
    var kvVersion: Int?

    static func resolve(
        _ options: VaultOptions,
        environment: [String: String],
        homeDirectory: String
    ) throws(SecretError) -> VaultConfiguration {
        // An empty variable counts as unset, as the vault CLI treats it.
        func env(_ names: [String]) -> String? {
            names.lazy.compactMap { name in environment[name].flatMap { $0.isEmpty ? nil : $0 } }.first
        }

        guard let rawAddress = options.address ?? env(VaultOptions.Environment.address) else {
            throw SecretError(.configuration, "no Vault address: pass --vault-addr or set VAULT_ADDR")
        }
        let addresses = try checkedAddresses(rawAddress)

        let mount = segments(of: options.mount ?? VaultOptions.defaultMount)
        if mount.isEmpty { throw SecretError(.configuration, "--vault-mount is empty") }

        var skipVerify = options.skipVerify ?? false
        if options.skipVerify == nil, let text = env(VaultOptions.Environment.skipVerify) {
            // The spellings Go's strconv.ParseBool accepts, as the vault CLI reads this variable.
            switch text {
            case "1", "t", "T", "true", "TRUE", "True": skipVerify = true
            case "0", "f", "F", "false", "FALSE", "False": skipVerify = false
            default: throw SecretError(.configuration, "VAULT_SKIP_VERIFY is not a boolean (use true or false)")
            }
        }

        let timeout = try BackendTimeout.resolve(options.timeout)
        if let version = options.kvVersion, ![1, 2].contains(version) {
            throw SecretError(.configuration, "--vault-kv-version must be 1 or 2")
        }

        let namespace = segments(of: options.namespace ?? env(VaultOptions.Environment.namespace) ?? "")
            .joined(separator: "/")
        return VaultConfiguration(
            addresses: addresses,
            namespace: namespace.isEmpty ? nil : namespace,
            mount: mount,
            prefix: segments(of: options.prefix ?? ""),
            auth: try authMethod(options, environment: env, homeDirectory: homeDirectory),
            caCertFile: options.caCertFile ?? env(VaultOptions.Environment.caCertFile),
            skipVerify: skipVerify,
            timeout: timeout,
            kvVersion: options.kvVersion
        )
    }

    private static func authMethod(
        _ options: VaultOptions,
        environment env: ([String]) -> String?,
        homeDirectory: String
    ) throws(SecretError) -> VaultAuthMethod {
        let method = (options.auth ?? "token").lowercased()
        func required(_ value: String?, _ flag: String) throws(SecretError) -> String {
            guard let value, !value.isEmpty else {
                throw SecretError(.configuration, "--vault-auth \(method) needs \(flag)")
            }
            return value
        }
        func mount(_ fallback: String) -> String {
            let given = segments(of: options.authMount ?? "").joined(separator: "/")
            return given.isEmpty ? fallback : given
        }

        switch method {
        case "token":
            if let file = options.tokenFile { return .token(.file(file)) }
            if let value = env(VaultOptions.Environment.token) { return .token(.value(SecretValue(string: value))) }
            let home = homeDirectory.hasSuffix("/") ? String(homeDirectory.dropLast()) : homeDirectory
            let file = home + "/.vault-token"
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw SecretError(
                    .configuration, "no Vault token: pass --vault-token-file, set VAULT_TOKEN or write ~/.vault-token")
            }
            return .token(.file(file))
        case "approle":
            return .appRole(
                mount: mount("approle"),
                roleID: try required(options.roleID, "--vault-role-id"),
                secretIDFile: try required(options.secretIDFile, "--vault-secret-id-file"))
        case "jwt":
            return .jwt(
                kind: "jwt", mount: mount("jwt"), role: try required(options.role, "--vault-role"),
                jwtFile: try required(options.jwtFile, "--vault-jwt-file"))
        case "kubernetes":
            return .jwt(
                kind: "kubernetes", mount: mount("kubernetes"), role: try required(options.role, "--vault-role"),
                jwtFile: options.jwtFile ?? kubernetesTokenFile)
        default:
            throw SecretError(.configuration, "--vault-auth must be token, approle, jwt or kubernetes")
        }
    }

    /// `a,b,c`: each address checked, in order, duplicates dropped (a repeated `--vault-addr` and a
    /// list in the config file arrive joined by commas too).
    static func checkedAddresses(_ raw: String) throws(SecretError) -> [String] {
        var addresses: [String] = []
        for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty {
                throw SecretError(
                    .configuration, "the Vault address list has an empty entry (addresses are comma-separated)")
            }
            let address = try checkedAddress(text)
            if !addresses.contains(address) { addresses.append(address) }
        }
        return addresses
    }

    private static func checkedAddress(_ raw: String) throws(SecretError) -> String {
        var address = raw.trimmingCharacters(in: .whitespaces)
        while address.hasSuffix("/") { address.removeLast() }
        guard let url = URL(string: address), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw SecretError(.configuration, "the Vault address is not an http:// or https:// URL")
        }
        guard url.query == nil, url.user == nil, url.password == nil else {
            throw SecretError(.configuration, "the Vault address must not hold a query or credentials")
        }
        return address
    }

    /// `a//b/` as `["a", "b"]`: mounts, prefixes and namespaces tolerate stray slashes as the vault CLI does.
    static func segments(of path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    /// The address `.status` shows: the URL, namespace, mount and prefix; never a token.
    var displayAddress: String {
        let namespacePart = namespace.map { $0 + "/" } ?? ""
        return addresses.joined(separator: ",") + "/v1/" + namespacePart + (mount + prefix).joined(separator: "/")
    }
}

/// Reads a credential file (token, secret id, JWT) without ever quoting it: errors name the file only.
enum CredentialFile {
    static func read(_ path: String, what: String) throws(SecretError) -> SecretValue {
        var bytes = try TrustedFile.read(path, what: "the \(what) file")
        // Files written by editors, `echo` or Kubernetes may end in whitespace; a credential never does.
        let whitespace: [UInt8] = [0x20, 0x0A, 0x0D, 0x09]
        var end = bytes.count
        while end > 0, whitespace.contains(bytes[end - 1]) { end -= 1 }
        var start = 0
        while start < end, whitespace.contains(bytes[start]) { start += 1 }
        var trimmed = Array(bytes[start..<end])
        bytes.zeroize()
        if trimmed.isEmpty { throw SecretError(.configuration, "the \(what) file \(path) is empty") }
        return SecretValue(zeroing: &trimmed)
    }
}
