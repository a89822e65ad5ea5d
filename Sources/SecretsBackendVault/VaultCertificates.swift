// Certificates from Vault's PKI engine (`certificates:` in the config): issued by
// `POST <mount>/issue/<role>` with the store's client and token, kept in memory only, and shown by the
// store as a secret whose fields are the folder's five files. The answer holds a private key: it is
// never logged, and nothing of a failed answer but Vault's `errors` list is kept.
import Foundation
import Logging
import NIOHTTP1
import SecretsCore

/// One entry of `certificates:`: where the folder is, what to ask Vault for, and when to ask again.
public struct VaultCertificateRequest: Sendable, Equatable {
    public var path: SecretPath
    /// The PKI engine's mount (`pki`, `pki_int`, `team/pki`).
    public var mount: [String]
    public var role: String
    public var commonName: String
    public var altNames: [String]
    public var ipSANs: [String]
    /// Nil: the role's default.
    public var ttl: Duration?
    /// The part of a certificate's lifetime after which the next is issued.
    public var renewFraction: Double
    /// Up to this part of that time earlier, at random, so that many mounts do not ask at once.
    public var renewSpread: Double

    /// As Vault Agent renews its leases and certificates.
    public static let defaultRenewFraction = 2.0 / 3.0
    public static let defaultRenewSpread = 0.1

    /// `role` as the API path names it: `pki/issue/web`.
    public init(
        path: SecretPath, role: String, commonName: String, altNames: [String] = [], ipSANs: [String] = [],
        ttl: Duration? = nil, renewFraction: Double = Self.defaultRenewFraction,
        renewSpread: Double = Self.defaultRenewSpread
    ) throws(SecretError) {
        guard !path.isRoot else { throw SecretError(.configuration, "a certificate needs a path") }
        // The role is not quoted back, as no value of a config file is: it may be a pasted secret.
        guard let split = role.range(of: "/issue/", options: .backwards) else {
            throw SecretError(.configuration, "'role' is not mount/issue/role, such as pki/issue/web")
        }
        let mount = role[..<split.lowerBound].split(separator: "/").map(String.init)
        let name = String(role[split.upperBound...])
        guard !mount.isEmpty, !name.isEmpty, !name.contains("/") else {
            throw SecretError(.configuration, "'role' is not mount/issue/role, such as pki/issue/web")
        }
        guard !commonName.isEmpty else { throw SecretError(.configuration, "a certificate needs a common_name") }
        guard renewFraction > 0, renewFraction < 1 else {
            throw SecretError(.configuration, "renew_fraction must be between 0 and 1")
        }
        guard renewSpread >= 0, renewSpread < 1 else {
            throw SecretError(.configuration, "renew_spread must be at least 0 and below 1")
        }
        if let ttl, ttl <= .zero { throw SecretError(.configuration, "a certificate's ttl must be above zero") }
        self.path = path
        self.mount = mount
        self.role = name
        self.commonName = commonName
        self.altNames = altNames
        self.ipSANs = ipSANs
        self.ttl = ttl
        self.renewFraction = renewFraction
        self.renewSpread = renewSpread
    }

    /// The API path below `/v1/`.
    var issuePath: String { VaultPaths.encodePath(mount + ["issue", role]) }
}

/// One certificate as issued: its serial, its lifetime, and the folder's files, taken together from
/// one answer so that a folder never mixes a certificate with another's key.
struct IssuedCertificate: Sendable {
    static let fileNames = ["certificate", "private_key", "issuing_ca", "ca_chain", "full_chain"]

    var serial: String
    var issuedAt: Date
    var expiresAt: Date
    var files: [String: SecretValue]

    var secret: Secret { Secret(content: .fields(files), version: serial, createdAt: issuedAt) }

    /// When the next should be issued: `fraction` of the lifetime, less a part (`spread` × `random`) of it.
    func renewalDue(fraction: Double, spread: Double, random: Double) -> Date {
        let lifetime = max(0, expiresAt.timeIntervalSince(issuedAt))
        return issuedAt.addingTimeInterval(lifetime * fraction * (1 - spread * min(max(random, 0), 1)))
    }
}

/// The certificates of `certificates:`: each issued once on first need (the renewal service's start or a
/// first read, whichever comes first), then again on `reissue`. A failure is kept and thrown to readers
/// until an issue works, so a role that does not exist costs one call and one log line, not one per read.
public actor VaultCertificates {
    public nonisolated let requests: [SecretPath: VaultCertificateRequest]
    nonisolated let folders: DeclaredFolders
    private let client: VaultClient
    private let auth: VaultAuth
    private let clock: any TimeSource
    private let logger: Logger
    /// Oldest first; the last is shown. The one before stays for descriptors opened on it.
    private var kept: [SecretPath: [IssuedCertificate]] = [:]
    private var issuing: [SecretPath: Task<IssuedCertificate, any Error>] = [:]
    private var failures: [SecretPath: SecretError] = [:]
    /// Certificates kept per folder: the current one and the one before.
    static let keptPerFolder = 2

    init(
        _ requests: [VaultCertificateRequest], client: VaultClient, auth: VaultAuth, clock: any TimeSource,
        logger: Logger
    ) {
        self.requests = Dictionary(requests.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.folders = DeclaredFolders(self.requests.keys)
        self.client = client
        self.auth = auth
        self.clock = clock
        self.logger = logger
    }

    /// The certificate a folder shows now; the first is issued here when nothing was tried yet.
    func current(_ path: SecretPath) async throws -> IssuedCertificate {
        if let newest = kept[path]?.last { return newest }
        if let task = issuing[path] { return try await task.value }
        if let failure = failures[path] { throw failure }
        return try await issue(path)
    }

    /// The newest certificate of `path` without issuing one.
    func newest(_ path: SecretPath) -> IssuedCertificate? { kept[path]?.last }

    /// One kept certificate by serial, for a descriptor opened before a re-issue.
    func keptCertificate(_ path: SecretPath, serial: String) -> IssuedCertificate? {
        kept[path]?.first { $0.serial == serial }
    }

    /// The kept certificates of `path`, oldest first.
    func all(_ path: SecretPath) -> [IssuedCertificate] { kept[path] ?? [] }

    /// Issues a new certificate for `path` now, or joins the issue already under way.
    @discardableResult
    func issue(_ path: SecretPath) async throws -> IssuedCertificate {
        if let task = issuing[path] { return try await task.value }
        guard let request = requests[path] else { throw SecretError.notFound(path, "no such certificate") }
        // Detached: shared, and may outlive its starter, whose deadline (`CallDeadline`) is not its own.
        let task = Task.detached { try await self.issueAndKeep(request) }
        issuing[path] = task
        defer { issuing[path] = nil }
        return try await task.value
    }

    /// One issue, kept on success; on failure the error readers get from now on, and one log line.
    private func issueAndKeep(_ request: VaultCertificateRequest) async throws -> IssuedCertificate {
        let path = request.path
        do {
            let certificate = try await issueNow(request)
            var list = kept[path] ?? []
            list.append(certificate)
            // The oldest leaves: its key is zeroed once the last descriptor holding it closes.
            if list.count > Self.keptPerFolder { list.removeFirst(list.count - Self.keptPerFolder) }
            kept[path] = list
            if failures.removeValue(forKey: path) != nil {
                logger.notice("certificate issued after earlier failures", metadata: Self.metadata(certificate, path))
            } else {
                logger.info("certificate issued", metadata: Self.metadata(certificate, path))
            }
            return certificate
        } catch {
            let failure = Self.readersError(SecretError.from(error).at(path))
            // One line per cause: a retry that fails the same way again stays quiet.
            if failures[path] != failure {
                logger.warning(
                    kept[path] == nil
                        ? "certificate not issued; its files fail (EIO, or EACCES when denied) until an issue works"
                        : "certificate not re-issued; the one in hand is still served",
                    metadata: [
                        "path": "\(path)", "role": "\(request.mount.joined(separator: "/"))/issue/\(request.role)",
                        "reason": "\(failure.message)",
                    ])
            }
            failures[path] = failure
            throw failure
        }
    }

    /// What `.status` shows.
    public func statuses() -> [CertificateStatus] {
        requests.keys.sorted().map { path in
            CertificateStatus(
                path: path,
                issued: (kept[path] ?? []).map { .init(serial: $0.serial, expiresAt: $0.expiresAt) },
                problem: failures[path]?.message)
        }
    }

    private static func metadata(_ certificate: IssuedCertificate, _ path: SecretPath) -> Logger.Metadata {
        [
            "path": "\(path)", "serial": "\(certificate.serial)",
            "expires": "\(Timestamp.iso8601(certificate.expiresAt))",
        ]
    }

    /// What a reader of the folder gets while no certificate could be issued: EACCES when Vault denies the
    /// token, EIO for everything else. Never `.unavailable`, which would count a kept failure as Vault
    /// being down each time a file is read, and open the breaker in front of the whole store.
    private static func readersError(_ error: SecretError) -> SecretError {
        if error.code == .permissionDenied { return error }
        return SecretError(.configuration, error.message, path: error.path, cause: error)
    }

    private func issueNow(_ request: VaultCertificateRequest) async throws -> IssuedCertificate {
        let body = IssueBody(
            commonName: request.commonName,
            altNames: request.altNames.isEmpty ? nil : request.altNames.joined(separator: ","),
            ipSans: request.ipSANs.isEmpty ? nil : request.ipSANs.joined(separator: ","),
            ttl: request.ttl.map { "\(Int64($0.seconds.rounded(.up)))s" })
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let encoded = Array(try encoder.encode(body))
        // Not retried: each answer that reaches us is a new certificate Vault counts and may store.
        let response = try await client.send(.POST, request.issuePath, body: encoded, idempotent: false, auth: auth)
        let what = "the certificate issue on \(request.mount.joined(separator: "/"))/issue/\(request.role)"
        guard response.status == 200 else {
            var error = VaultPaths.statusError(response.status, what, path: request.path)
            // Vault's words say which rule failed ("unknown role", "common name not allowed"); a failed
            // answer holds no key.
            if let reason = VaultKV.errors(response.body).first {
                error.message += ": " + String(reason.prefix(200))
            }
            throw error
        }
        return try Self.decode(response.body, what, issuedAt: clock.wallNow())
    }

    private struct IssueBody: Encodable {
        var commonName: String
        var altNames: String?
        var ipSans: String?
        var ttl: String?
    }

    /// `data.certificate`, `data.private_key`, `data.issuing_ca`, `data.ca_chain`, `data.serial_number`,
    /// `data.expiration` (Unix seconds). Each file is PEM ending in one newline, so files concatenate.
    static func decode(_ body: [UInt8], _ what: String, issuedAt: Date) throws(SecretError) -> IssuedCertificate {
        let root = try VaultKV.object(body, what)
        func malformed(_ problem: String) -> SecretError {
            SecretError(.malformedResponse, "Vault's answer to \(what) is not what PKI sends (\(problem))")
        }
        guard let data = root["data"] as? [String: Any] else { throw malformed("no data") }
        guard let certificate = data["certificate"] as? String, let key = data["private_key"] as? String,
            let serial = data["serial_number"] as? String, !serial.isEmpty
        else { throw malformed("no certificate, private_key or serial_number") }
        guard let expiration = VaultKV.integer(data["expiration"]) else { throw malformed("no expiration") }
        let issuing = data["issuing_ca"] as? String ?? ""
        var chain = (data["ca_chain"] as? [String] ?? []).filter { !$0.isEmpty }
        if chain.isEmpty, !issuing.isEmpty { chain = [issuing] }
        func pem(_ blocks: [String]) -> String {
            blocks.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" }.joined()
        }
        let files: [String: SecretValue] = [
            "certificate": SecretValue(string: pem([certificate])),
            "private_key": SecretValue(string: pem([key])),
            "issuing_ca": SecretValue(string: pem(issuing.isEmpty ? [] : [issuing])),
            "ca_chain": SecretValue(string: pem(chain)),
            "full_chain": SecretValue(string: pem([certificate] + chain)),
        ]
        return IssuedCertificate(
            serial: serial, issuedAt: issuedAt, expiresAt: Date(timeIntervalSince1970: TimeInterval(expiration)),
            files: files)
    }
}

/// How the store shows certificates: each folder is a secret of five fields, its versions the kept
/// certificates, its rotation a new issue. Paths inside a folder are the fields, nothing more.
extension VaultCertificates {
    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        guard let version else { return try await current(path).secret }
        guard let certificate = keptCertificate(path, serial: version) else {
            throw SecretError.notFound(path, "that certificate is no longer kept")
        }
        return certificate.secret
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        _ = try await current(path)
        return VersionInfo.labellingCurrentAndPrevious(
            all(path).map { VersionInfo(id: $0.serial, createdAt: $0.issuedAt) })
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let old = newest(request.path)?.serial
        let new = try await issue(request.path)
        return RotationResult(path: request.path, field: request.field, oldVersion: old, newVersion: new.serial)
    }
}
