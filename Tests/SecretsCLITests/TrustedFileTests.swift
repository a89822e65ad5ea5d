import CProcessGuard
import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

/// The judgement of files secretsfs reads and writes (DESIGN §10), without the kernel's mount: the
/// mount tests in test_security_process.py hold the same promises against uid 65534.
@Suite struct TrustedFileTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("trusted-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    }

    func file(_ name: String, _ text: String, mode: Int) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        chmod(path, mode_t(mode))
        return path
    }

    func refusal(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch {
            return SecretError.from(error).message
        }
    }

    @Test func readsATrustedFileAndRefusesOneOthersCanWrite() throws {
        let good = file("good", "cache-ttl: 1s\n", mode: 0o644)
        #expect(try TrustedFile.read(good, what: "config file") == Array("cache-ttl: 1s\n".utf8))
        let loose = file("loose", "x", mode: 0o666)
        let message = refusal { _ = try TrustedFile.read(loose, what: "config file") }
        #expect(message.contains("writable by group or others"))
    }

    @Test func refusesAKeyOthersCanReadButNotOneOnlyItsOwnerCan() {
        let shared = file("shared.key", "k", mode: 0o640)
        #expect(
            refusal { _ = try TrustedFile.read(shared, what: "key", secret: true) }.contains("readable by group"))
        let own = file("own.key", "k", mode: 0o600)
        #expect(refusal { _ = try TrustedFile.read(own, what: "key", secret: true) } == "")
    }

    @Test func judgesTheFolderOnTheWay() {
        let inner = folder + "/open"
        mkdir(inner, 0o777)
        chmod(inner, 0o777)
        let path = inner + "/file"
        FileManager.default.createFile(atPath: path, contents: Data("x".utf8), attributes: [.posixPermissions: 0o600])
        #expect(refusal { _ = try TrustedFile.read(path, what: "f") }.contains("the folder \(inner) is writable"))
    }

    @Test func aSymlinkIsJudgedByItsTargetAndTheWayThere() {
        let target = file("target", "x", mode: 0o666)
        let link = folder + "/link"
        symlink(target, link)
        #expect(refusal { _ = try TrustedFile.read(link, what: "f") }.contains("writable by group or others"))
        chmod(target, 0o644)
        #expect(refusal { _ = try TrustedFile.read(link, what: "f") } == "")
    }

    @Test func appendsNeverThroughASymlinkAndNarrowsABroadFile() throws {
        let target = file("target.log", "", mode: 0o600)
        let link = folder + "/link.log"
        symlink(target, link)
        #expect(refusal { _ = try TrustedFile.openForAppend(link, what: "audit log") }.contains("symbolic link"))
        let broad = file("broad.log", "", mode: 0o644)
        let fd = try TrustedFile.openForAppend(broad, what: "audit log")
        close(fd)
        var info = stat()
        stat(broad, &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func theProcessGuardRanBeforeMainAndNamesEveryCredential() {
        #expect(secretsfs_process_guarded() == 1)
        // The guard runs before main, so it keeps its own list; the backends' registry is the one it copies.
        #expect(Set(ProgramSpawn.guardedVariables) == Set(Backends.credentialVariables))
        #expect(
            Set(Backends.credentialVariables)
                == ["VAULT_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"])
    }
}
