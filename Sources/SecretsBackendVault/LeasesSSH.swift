// SSH certificates (`leases:` entries with `sign:`), signed by Vault's SSH engine acting as a CA. They
// go through the lease machinery (`VaultLeases`, `LeasesRenewal`, the journal for the next worker): a
// certificate is a credential that cannot be renewed, so it is made anew (signed again) at 2/3 of its
// validity. The key pair is made once and kept for as long as the mount holds the folder, so a reader
// of `id` and then `id-cert.pub` never gets a pair that does not match across a re-sign.
import Foundation
import NIOHTTP1
import SecretsCore

/// What an entry with `sign:` asks the SSH CA for.
public struct SSHSigning: Sendable, Equatable {
    /// The users (or hosts) the certificate is valid for; empty: the role's `default_user`.
    public var principals: [String]
    /// An `authorized_keys` line (`ssh-ed25519 AAAA…`) to have signed; nil: the daemon makes an Ed25519
    /// key pair and shows its private key as `id`.
    public var publicKey: String?
    /// Nil: the role's `ttl`.
    public var ttl: Duration?

    public init(principals: [String] = [], publicKey: String? = nil, ttl: Duration? = nil) {
        self.principals = principals
        self.publicKey = publicKey
        self.ttl = ttl
    }

    /// The files of the folder.
    static let privateKeyFile = "id"
    static let publicKeyFile = "id.pub"
    static let certificateFile = "id-cert.pub"
}

extension VaultLeases {
    @Sendable static func systemRandomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Whether a record an earlier worker held is still what `request` shows: a certificate whose entry
    /// (reloaded) now names another key, or none, is signed anew rather than taken over.
    static func stillFits(_ record: LeaseRecord, _ request: VaultLeaseRequest) -> Bool {
        let shown = record.fields[SSHSigning.publicKeyFile]?.utf8String()
        switch (request.sign, request.sign?.publicKey) {
        case (nil, _): return record.fields[SSHSigning.certificateFile] == nil
        case (_, let line?): return record.fields[SSHSigning.privateKeyFile] == nil && shown == line + "\n"
        case (_, nil): return record.fields[SSHSigning.privateKeyFile] != nil
        }
    }

    /// Signs the folder's public key: the configured one, the key pair `old` holds, or a new pair.
    func signCertificate(_ request: VaultLeaseRequest, replacing old: LeaseRecord?) async throws -> LeaseRecord {
        guard let signing = request.sign else { throw SecretError(.configuration, "not an SSH certificate") }
        var fields: [String: SecretValue] = [:]
        let publicLine: SecretValue
        if let line = signing.publicKey {
            publicLine = SecretValue(string: line.hasSuffix("\n") ? line : line + "\n")
        } else if let old, let key = old.fields[SSHSigning.privateKeyFile],
            let line = old.fields[SSHSigning.publicKeyFile]
        {
            publicLine = line
            fields[SSHSigning.privateKeyFile] = key
        } else {
            var seed = randomBytes(32)
            let key = try OpenSSHKey(seed: SecretValue(zeroing: &seed))
            let comment = "secretsfs:" + request.path.string
            publicLine = SecretValue(string: key.publicLine(comment: comment))
            let check = randomBytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            fields[SSHSigning.privateKeyFile] = key.privateFile(comment: comment, checkInt: check)
        }
        fields[SSHSigning.publicKeyFile] = publicLine
        let what = "the SSH certificate signing at \(request.shownRead)"
        var members: [(String, SecretValue)] = [("public_key", publicLine), ("cert_type", SecretValue(string: "user"))]
        if !signing.principals.isEmpty {
            members.append(("valid_principals", SecretValue(string: signing.principals.joined(separator: ","))))
        }
        if let ttl = signing.ttl { members.append(("ttl", SecretValue(string: "\(Int(ttl.seconds.rounded(.up)))s"))) }
        // Not retried on its own, as a credential read is not: each answer is a new certificate.
        let response = try await client.send(
            .POST, request.readPath, body: VaultKV.objectBody(members), idempotent: false, auth: auth)
        guard response.status == 200 else {
            var error = VaultPaths.statusError(response.status, what, path: request.path)
            if let reason = VaultKV.errors(response.body).first { error.message += ": " + String(reason.prefix(200)) }
            throw error
        }
        let now = clock.wallNow()
        let root = try VaultKV.object(response.body, what)
        guard let data = root["data"] as? [String: Any], let signed = data["signed_key"] as? String else {
            throw VaultKV.malformed(what, "no signed_key")
        }
        let line = signed.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let certificate = SSHCertificate(line: line) else {
            throw VaultKV.malformed(what, "signed_key is not an OpenSSH certificate")
        }
        fields[SSHSigning.certificateFile] = SecretValue(string: line + "\n")
        // The certificate says when it ends; one valid forever is still signed again after the ttl asked
        // or the answer's lease, else after a day, so a changed role reaches the mount.
        let fallback = signing.ttl?.seconds ?? VaultKV.integer(root["lease_duration"]).map { Double($0) } ?? 0
        let expiresAt =
            certificate.expiresAt ?? now.addingTimeInterval(fallback > 0 ? fallback : 86_400)
        guard expiresAt > now else { throw VaultKV.malformed(what, "the certificate has already expired") }
        let version = String(Int64((now.timeIntervalSince1970 * 1000).rounded()))
        return LeaseRecord(
            path: request.path, leaseID: SecretValue(bytes: [UInt8]()), version: version, fields: fields,
            state: LeaseState(obtainedAt: now, expiresAt: expiresAt, renewable: false), made: 0)
    }
}
