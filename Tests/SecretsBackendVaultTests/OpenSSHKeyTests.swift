import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendVault

@Suite struct OpenSSHKeyTests {
    /// RFC 8032's first Ed25519 test vector.
    static let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    static let publicKey = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")

    @Test func publicHalfAndLineAreOpenSSHs() throws {
        let key = try OpenSSHKey(seed: SecretValue(bytes: Self.seed))
        #expect(key.publicBlob == [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 32] + Self.publicKey)
        let line = key.publicLine(comment: "secretsfs:ssh/deploy")
        let words = line.split(separator: " ")
        #expect(words.count == 3 && words[0] == "ssh-ed25519" && line.hasSuffix("\n"))
        #expect(Data(base64Encoded: String(words[1])) == Data(key.publicBlob))
    }

    @Test func privateFileIsOpenSSHKeyV1() throws {
        let key = try OpenSSHKey(seed: SecretValue(bytes: Self.seed))
        let text = try #require(key.privateFile(comment: "c", checkInt: 0x0102_0304).utf8String())
        let lines = text.split(separator: "\n")
        #expect(
            lines.first == "-----BEGIN OPENSSH PRIVATE KEY-----" && lines.last == "-----END OPENSSH PRIVATE KEY-----")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.count <= 70 })
        let body = try #require(Data(base64Encoded: lines.dropFirst().dropLast().joined()))
        let bytes = Array(body)
        let magic = Array("openssh-key-v1".utf8) + [0]
        #expect(Array(bytes.prefix(magic.count)) == magic)
        // Ciphers "none", KDF "none", no KDF options, one key, its public blob, then the private section.
        let start = magic.count + 8 + 8 + 4 + 4 + 4 + key.publicBlob.count + 4
        let section = Array(bytes[start...])
        #expect(bytes[start - 4..<start].reduce(0) { $0 << 8 | Int($1) } == section.count)
        #expect(section.count % 8 == 0)
        #expect(Array(section[0..<8]) == [1, 2, 3, 4, 1, 2, 3, 4])
        let secret = Self.seed + Self.publicKey
        #expect(bytes.indices.contains { Array(bytes[$0..<min($0 + 64, bytes.count)]) == secret })
    }

    /// The real reader: `ssh-keygen -y` prints the public key of the file (where OpenSSH is installed).
    @Test func sshKeygenReadsTheFile() async throws {
        let keygen = "/usr/bin/ssh-keygen"
        guard FileManager.default.isExecutableFile(atPath: keygen) else { return }
        var seed = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let key = try OpenSSHKey(seed: SecretValue(zeroing: &seed))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let text = try #require(key.privateFile(comment: "secretsfs:x", checkInt: 42).utf8String())
        #expect(
            FileManager.default.createFile(
                atPath: file.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        let run = try await ProgramRun.run(keygen, ["-y", "-f", file.path])
        let printed = run.output
        #expect(run.status == 0, "ssh-keygen -y exited \(run.status)")
        let expected = key.publicLine(comment: "secretsfs:x").split(separator: " ").prefix(2)
        #expect(printed.split(separator: " ").prefix(2) == expected, "\(printed)")
    }

    @Test func base64MatchesFoundations() {
        for count in 0..<10 {
            let input = (0..<count).map { UInt8($0 * 37 & 0xFF) }
            #expect(String(decoding: Base64Text.encode(input), as: UTF8.self) == Data(input).base64EncodedString())
        }
    }

    @Test func aSeedOfTheWrongSizeIsRefused() {
        #expect(throws: SecretError.self) { try OpenSSHKey(seed: SecretValue(bytes: [UInt8](repeating: 1, count: 31))) }
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

@Suite struct SSHCertificateTests {
    /// `ssh-keygen -s ca -n deploy,ops -V 20260101000000Z:20260102000000Z user.pub`.
    static let ed25519 = [
        "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIFMVIjGc80kaZ58",
        "Qj583DDUdPidlLGrccJreOw/WIIhiAAAAIFY/nPoYqc3R+cgJxxfIQBMa/t1AAVJUOCOBIqFgwcTXAAAAAAAAAAcAAAABAAAABHR",
        "lc3QAAAARAAAABmRlcGxveQAAAANvcHMAAAAAaVW5AAAAAABpVwqAAAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAA",
        "AAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB",
        "0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAg0X2khoX9w8WF8/8FhgjBs+CUmlc",
        "v6eDVCvAk7pfbWrUAAABTAAAAC3NzaC1lZDI1NTE5AAAAQDm7GLSA340msl14UArgROuoiXBiapjQjIA8enZsYzP0D4lrOz0QzdZ",
        "9Wv/xKeUco0/11rHQj1YHRYp27KtWgA0= user",
    ].joined()
    /// An ECDSA key (two public key fields) signed valid `forever`.
    static let ecdsa = [
        "ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20",
        "AAAAgDKpomBRTXfRMWQiY1Qv5ag5GiNibqloGv0IN1clQ+3AAAAAIbmlzdHAyNTYAAABBBLF4hzzJH7N9izmPbfUS3U1quxMkT49",
        "Fi+0k61vww5ukf3+HwQQhIyQtPICFFhd3zCWehjRG2Kuqgs4TJPdjKNMAAAAAAAAAAAAAAAEAAAACdDIAAAAIAAAABHJvb3QAAAA",
        "AaVW5AP//////////AAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJkaW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGl",
        "uZwAAAAAAAAAWcGVybWl0LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0LXVzZXItcmMAAAA",
        "AAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAg0X2khoX9w8WF8/8FhgjBs+CUmlcv6eDVCvAk7pfbWrUAAABTAAAAC3NzaC1lZDI",
        "1NTE5AAAAQEivWC+ckHsbkOoH+eqkdx2MbCtV3MITjhfH1v67PorY3InuJjqTVDhDp0nUJbbCy95ke7u9f1x9xeao1AYoMw8= ec",
    ].joined()

    @Test func validityIsRead() throws {
        let certificate = try #require(SSHCertificate(line: Self.ed25519))
        #expect(certificate.validAfter == 1_767_225_600 && certificate.validBefore == 1_767_312_000)
        #expect(certificate.expiresAt == Date(timeIntervalSince1970: 1_767_312_000))
        let forever = try #require(SSHCertificate(line: Self.ecdsa))
        #expect(forever.validAfter == 1_767_225_600 && forever.expiresAt == nil)
    }

    @Test func anythingElseIsNil() {
        let words = Self.ed25519.split(separator: " ")
        #expect(SSHCertificate(line: "") == nil)
        #expect(
            SSHCertificate(line: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINF9pIaF/cPFhfP/BYYIwbPglJpXL+ng1QrwJO6X21q1")
                == nil)
        // The named type must be the one inside.
        #expect(SSHCertificate(line: "ssh-rsa-cert-v01@openssh.com " + words[1]) == nil)
        // Cut short.
        #expect(SSHCertificate(line: String(words[0]) + " " + String(words[1].prefix(120))) == nil)
    }
}

@Suite struct SSHTakeOverTests {
    func record(_ fields: [String: String]) throws -> LeaseRecord {
        LeaseRecord(
            path: try SecretPath("ssh/a"), leaseID: SecretValue(bytes: [UInt8]()), version: "1",
            fields: fields.mapValues { SecretValue(string: $0) },
            state: LeaseState(obtainedAt: Date(), expiresAt: Date().addingTimeInterval(60), renewable: false), made: 1)
    }

    /// A reload that changed the entry's key (or made it a credential) signs anew instead of taking over.
    @Test func aRecordIsTakenOverOnlyWhileItsEntryNamesTheSameKey() throws {
        let path = try SecretPath("ssh/a")
        let made = try VaultLeaseRequest(path: path, sign: "ssh/sign/a", ssh: SSHSigning())
        let own = try VaultLeaseRequest(path: path, sign: "ssh/sign/a", ssh: SSHSigning(publicKey: "ssh-ed25519 AAAA"))
        let other = try VaultLeaseRequest(
            path: path, sign: "ssh/sign/a", ssh: SSHSigning(publicKey: "ssh-ed25519 BBBB"))
        let read = try VaultLeaseRequest(path: path, read: "database/creds/a")
        let withKey = try record(["id": "k", "id.pub": "ssh-ed25519 CCCC x\n", "id-cert.pub": "c"])
        let signedOwn = try record(["id.pub": "ssh-ed25519 AAAA\n", "id-cert.pub": "c"])
        #expect(VaultLeases.stillFits(withKey, made) && !VaultLeases.stillFits(withKey, own))
        #expect(VaultLeases.stillFits(signedOwn, own) && !VaultLeases.stillFits(signedOwn, other))
        #expect(!VaultLeases.stillFits(signedOwn, made) && !VaultLeases.stillFits(withKey, read))
        #expect(VaultLeases.stillFits(try record(["username": "u", "password": "p"]), read))
    }
}
