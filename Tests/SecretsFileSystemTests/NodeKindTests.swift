import Foundation
import SecretsCore
import Testing

@testable import SecretsFileSystem

/// What each kind of node answers, asked through `Node` as the operations ask, and what a key tells
/// without resolving: the capabilities that replaced the switches over kinds.
@Suite struct NodeKindTests {
    static func p(_ string: String) -> SecretPath {
        // Test paths are literals known to be valid.
        try! SecretPath(string)
    }

    static let value = SecretValue(string: "not-shown")
    static let version = Secret(content: .value(value), version: "7", createdAt: Date(timeIntervalSince1970: 1000))
    static let fields = Secret(content: .fields(["user": value]), version: "3", createdAt: nil)

    @Test func aSecretFileIsTheCurrentValueNumberedByItsVersion() {
        let node = Node.secretFile(SecretFile(path: Self.p("app/key"), version: Self.version, bytes: Self.value))
        #expect(node.type == .file && !node.isDirectory)
        #expect(node.value == Self.value && node.secret?.version == "7")
        #expect(node.current?.secret == Self.p("app/key") && node.current?.field == nil)
        #expect(node.numbered(.path(Self.p("app/key"))) == .value(Self.p("app/key"), version: "7", isField: false))
        #expect(node.target == nil && node.generated == nil)
    }

    @Test func aFieldIsRotatedAsItsSecretsField() {
        let folder = SecretFolder(
            path: Self.p("db"), isPrefix: false, version: Self.fields, fields: ["user": Self.value])
        let node = Node.folder(folder)
        #expect(node.isDirectory && node.value == nil && node.current == nil)
        let field = folder.field(at: Self.p("db/user"))
        #expect(field?.current?.secret == Self.p("db") && field?.current?.field == "user")
        #expect(field?.numbered(.path(Self.p("db/user"))) == .value(Self.p("db/user"), version: "3", isField: true))
        #expect(folder.field(at: Self.p("db/password")) == nil)
        #expect(SecretFolder.prefix(Self.p("db")).field(at: Self.p("db/user")) == nil)
    }

    @Test func versionsAreNeverCurrentValuesAndKeepTheirKeys() {
        let file = Node.versionFile(
            VersionFile(secretPath: Self.p("a"), id: "2", version: Self.version, bytes: Self.value))
        #expect(file.value != nil && file.current == nil)
        #expect(file.numbered(.version(of: Self.p("a"), id: "2")) == .version(of: Self.p("a"), id: "2"))
        let folder = Node.versionFolder(
            VersionFolder(secretPath: Self.p("db"), id: "3", version: Self.fields, fields: ["user": Self.value]))
        #expect(folder.isDirectory && folder.value == nil && folder.secret?.version == "3")
        let label = Node.label(VersionLabel(secretPath: Self.p("a"), label: "current", target: "2"))
        #expect(label.type == .symlink && label.target == "2" && label.value == nil)
        #expect(Node.versionsRoot(VersionsRoot(folder: .root)).isDirectory)
        #expect(Node.versions(VersionList(secretPath: Self.p("a"))).isDirectory)
    }

    @Test func aControlFileIsGeneratedAndKeptByTheKernelForNoTime() throws {
        let id = try #require(ControlFiles.named(".status", in: .root))
        let node = Node.control(ControlNode(id: id, folder: .root))
        #expect(node.generated?.id == id && node.value == nil && node.type == .file)
    }

    /// A kind is held in place: an `indirect` case or an existential would make a node one pointer,
    /// and every resolution an allocation.
    @Test func aNodeHoldsItsKindInPlace() {
        let largest = [
            MemoryLayout<SecretFolder>.size, MemoryLayout<SecretFile>.size, MemoryLayout<FieldFile>.size,
            MemoryLayout<VersionFile>.size, MemoryLayout<VersionFolder>.size, MemoryLayout<VersionFieldFile>.size,
            MemoryLayout<VersionLabel>.size, MemoryLayout<ControlNode>.size, MemoryLayout<RenderedNode>.size,
        ].max()!
        #expect(MemoryLayout<Node>.size >= largest)
    }

    // MARK: What a key tells

    @Test func aVersionsFieldRevealsThatFieldAndIsAuditedAsTheVersion() {
        let key = NodeKey.versionField(of: Self.p("db"), id: "2", field: "password")
        #expect(key.revealed == Self.p("db/password"))
        #expect(key.auditName == "db@2/password" && key.mayShowValue)
        #expect(NodeKey.label(of: Self.p("db"), label: "current").auditName == "db@current")
        #expect(NodeKey.versionsRoot(folder: Self.p("db")).revealed == nil)
        #expect(!NodeKey.versions(of: Self.p("db")).mayShowValue)
    }

    @Test func eachFolderKeyHasTheParentThatListsIt() {
        #expect(NodeKey.path(Self.p("a/b")).parent == .path(Self.p("a")))
        #expect(NodeKey.path(Self.p("a")).parent == .path(.root))
        #expect(NodeKey.versionsRoot(folder: Self.p("a")).parent == .path(Self.p("a")))
        #expect(NodeKey.versions(of: Self.p("a/s")).parent == .versionsRoot(folder: Self.p("a")))
        #expect(NodeKey.version(of: Self.p("a/s"), id: "1").parent == .versions(of: Self.p("a/s")))
    }

    @Test func aChangeReachesTheKeysThatShowIt() {
        let secret = Self.p("db")
        #expect(NodeKey.value(Self.p("db/user"), version: "3", isField: true).changes(with: secret, dependents: []))
        #expect(NodeKey.label(of: secret, label: "current").changes(with: secret, dependents: []))
        #expect(!NodeKey.version(of: secret, id: "3").changes(with: secret, dependents: []))
        #expect(NodeKey.rendered(Self.p("out")).changes(with: secret, dependents: [Self.p("out")]))
        #expect(!NodeKey.rendered(Self.p("out")).changes(with: secret, dependents: []))
        #expect(NodeKey.versionsRoot(folder: secret).changes(withListingOf: secret))
        #expect(NodeKey.label(of: Self.p("a/db"), label: "current").announcedPath == "a/.versions/db/current")
        #expect(NodeKey.label(of: secret, label: "current").announcedAs == .symlink)
        #expect(NodeKey.value(secret, version: "1", isField: false).valuePath == secret)
        #expect(NodeKey.path(secret).valuePath == nil && NodeKey.path(secret).control == nil)
    }
}
