import Foundation
import Logging
import SecretsCore
import SecretsTemplates
import Testing

@testable import SecretsFileSystem

@Suite struct PermissionRulesTests {
    /// The fixture's store (owner 7:8, files 0400, folders 0500 by default) with rules and one rendered file.
    private func fixture() throws -> (Fixture, SecretsFileSystem) {
        let f = Fixture()
        var options = FileSystemOptions(uid: 7, gid: 8)
        options.permissions = PermissionRules(rules: [
            .init(paths: ["openai/*", "nothing/**"], mode: 0o440, uid: 1000),
            .init(paths: ["openai/**", "db/**"], mode: 0o444),
        ])
        options.rendered = try RenderedFiles([
            RenderedFile(
                path: SecretPath("openai/conf"),
                template: CompiledTemplate(text: "{{ \"top\"|secret|base64 }}", origin: "t"),
                mode: 0o600)
        ])
        let cache = CachingSecretStore(
            upstream: f.store, policy: CachePolicy(), clock: f.clock, logger: Logger(label: "t"))
        return (f, SecretsFileSystem(store: cache, options: options, clock: f.clock, logger: Logger(label: "t")))
    }

    private func attributes(_ fs: SecretsFileSystem, _ path: String) async throws -> NodeAttributes {
        var parent = SecretsFileSystem.rootInode
        var reply: EntryReply?
        for name in path.split(separator: "/") {
            reply = try await fs.lookup(parent: parent, name: String(name), context: .unknown).value
            parent = reply!.attributes.inode
        }
        return reply!.attributes
    }

    @Test func firstMatchWinsAndDefaultsFillTheRest() async throws {
        let (_, fs) = try fixture()
        let key = try await attributes(fs, "openai/api_key")
        #expect((key.permissions, key.uid, key.gid) == (0o440, 1000, 8))
        let field = try await attributes(fs, "db/password")
        #expect((field.permissions, field.uid, field.gid) == (0o444, 7, 8))
        let top = try await attributes(fs, "top")
        #expect((top.permissions, top.uid, top.gid) == (0o400, 7, 8))
        let version = try await attributes(fs, "openai/.versions/api_key/1")
        #expect((version.permissions, version.uid) == (0o440, 1000))
    }

    @Test func aRenderedFilesOwnModeWinsOverTheRule() async throws {
        let (_, fs) = try fixture()
        let conf = try await attributes(fs, "openai/conf")
        #expect((conf.permissions, conf.uid, conf.gid) == (0o600, 1000, 8))
    }

    @Test func foldersGetTheBitsTheirReadersNeed() async throws {
        let (_, fs) = try fixture()
        // uid 1000 is not the folder's owner: it enters through the other bits; group 8 is the folder's.
        #expect(try await attributes(fs, "openai").permissions == 0o555)
        #expect(try await attributes(fs, "db").permissions == 0o555)
        #expect(
            try await fs.getattr(SecretsFileSystem.rootInode, context: .unknown).value.attributes.permissions == 0o555)
    }

    @Test func folderBits() {
        let folder = Ownership(mode: 0o500, uid: 7, gid: 8)
        #expect(PermissionRules.folderBits(for: [Ownership(mode: 0o400, uid: 7, gid: 8)], folder: folder) == 0o500)
        #expect(PermissionRules.folderBits(for: [Ownership(mode: 0o400, uid: 1000, gid: 8)], folder: folder) == 0o005)
        #expect(PermissionRules.folderBits(for: [Ownership(mode: 0o040, uid: 7, gid: 8)], folder: folder) == 0o050)
        #expect(PermissionRules.folderBits(for: [Ownership(mode: 0o040, uid: 7, gid: 9)], folder: folder) == 0o005)
        #expect(PermissionRules.folderBits(for: [Ownership(mode: 0o000, uid: 1000, gid: 9)], folder: folder) == 0)
    }
}
