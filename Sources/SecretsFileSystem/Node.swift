import Foundation
import SecretsCore

/// What a kind of node can do, as go-fuse's node interfaces (`NodeGetattrer`, `NodeReader`,
/// `NodeReaddirer`, `NodeReadlinker`): each kind is a struct of its own that answers the capabilities
/// it has; the defaults below are what a kind without one answers. The operations ask a `Node` for
/// a capability and never look at which kind it is.
protocol NodeKind: Sendable {
    /// What `stat` and `readdir` report it as.
    var type: NodeType { get }
    /// The bytes a read gets (`NodeReader`); an open handle holds them for its life.
    var value: SecretValue? { get }
    /// The version it shows, for the audit log, xattrs and its time.
    var secret: Secret? { get }
    /// The secret, and the field of it, whose current version it shows: what `.rotate` rotates when
    /// given its name, what numbers it (`NodeKey.value`) and what bounds how long the kernel keeps it.
    var current: CurrentValue? { get }
    /// A symlink's target (`NodeReadlinker`).
    var target: String? { get }
    /// A control file, whose bytes are made for each reader (`GeneratedFiles`).
    var generated: ControlNode? { get }
    /// What `stat` shows when the node alone decides it; nil when the bytes a reader would get now
    /// decide it (a control file's size).
    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes?
    /// How long the kernel may keep its name and attributes, before the cache's own freshness.
    func kernelTimeout(in fs: SecretsFileSystem) -> Double
    /// The names in it (`NodeReaddirer`), each with the key it is numbered by and its type, before
    /// the judge filters them; a kind that is no folder throws.
    func names(in fs: SecretsFileSystem) async throws -> [ListedName]
    /// Its `user.secretsfs.*` attributes, names in full. Never a value.
    func xattrs(in fs: SecretsFileSystem) async -> [(String, [UInt8])]
}

extension NodeKind {
    var type: NodeType { .file }
    var value: SecretValue? { nil }
    var secret: Secret? { nil }
    var current: CurrentValue? { nil }
    var target: String? { nil }
    var generated: ControlNode? { nil }
    func kernelTimeout(in fs: SecretsFileSystem) -> Double { fs.options.kernelCacheTimeout }
    func names(in fs: SecretsFileSystem) async throws -> [ListedName] {
        throw SecretError(.invalidArgument, "not a folder")
    }
    func xattrs(in fs: SecretsFileSystem) async -> [(String, [UInt8])] { [] }
}

/// See `NodeKind.current`.
struct CurrentValue: Sendable {
    var secret: SecretPath
    var field: String?
    var version: String
}

/// One name of a folder's listing, before the judge and numbering (`directoryEntries`).
struct ListedName: Sendable {
    var name: String
    var key: NodeKey
    var type: NodeType
}

/// A node resolved against the store: what the inode is right now, one case per kind, each holding
/// its kind's own type. A kind is held in place, never boxed as `any NodeKind` (most carry a secret
/// and a value, too large for an existential's inline buffer: each resolution would allocate).
/// `visit` is the one switch over kinds; a capability is a visitor that calls the kind's own method,
/// specialized for each kind, so asking costs what the switches it replaced cost.
enum Node: Sendable {
    case folder(SecretFolder)
    case secretFile(SecretFile)
    case field(FieldFile)
    case versionsRoot(VersionsRoot)
    case versions(VersionList)
    case versionFile(VersionFile)
    case versionFolder(VersionFolder)
    case versionField(VersionFieldFile)
    case label(VersionLabel)
    case control(ControlNode)
    case rendered(RenderedNode)

    /// The one switch over kinds: `visitor` gets this node's kind as its own type.
    func visit<V: NodeVisitor>(_ visitor: V) -> V.Result {
        switch self {
        case .folder(let kind): visitor.visit(kind)
        case .secretFile(let kind): visitor.visit(kind)
        case .field(let kind): visitor.visit(kind)
        case .versionsRoot(let kind): visitor.visit(kind)
        case .versions(let kind): visitor.visit(kind)
        case .versionFile(let kind): visitor.visit(kind)
        case .versionFolder(let kind): visitor.visit(kind)
        case .versionField(let kind): visitor.visit(kind)
        case .label(let kind): visitor.visit(kind)
        case .control(let kind): visitor.visit(kind)
        case .rendered(let kind): visitor.visit(kind)
        }
    }

    /// The same for a capability that may wait on the store (listing, xattrs): off the hot path,
    /// but as unboxed.
    func visit<V: AsyncNodeVisitor>(_ visitor: V) async throws -> V.Result {
        switch self {
        case .folder(let kind): try await visitor.visit(kind)
        case .secretFile(let kind): try await visitor.visit(kind)
        case .field(let kind): try await visitor.visit(kind)
        case .versionsRoot(let kind): try await visitor.visit(kind)
        case .versions(let kind): try await visitor.visit(kind)
        case .versionFile(let kind): try await visitor.visit(kind)
        case .versionFolder(let kind): try await visitor.visit(kind)
        case .versionField(let kind): try await visitor.visit(kind)
        case .label(let kind): try await visitor.visit(kind)
        case .control(let kind): try await visitor.visit(kind)
        case .rendered(let kind): try await visitor.visit(kind)
        }
    }

    var type: NodeType { visit(Ask.type) }
    var isDirectory: Bool { type == .directory }
    var value: SecretValue? { visit(Ask.value) }
    var secret: Secret? { visit(Ask.secret) }
    var current: CurrentValue? { visit(Ask.current) }
    var target: String? { visit(Ask.target) }
    var generated: ControlNode? { visit(Ask.generated) }

    /// The key a resolved node is numbered by: a current value by its version (`NodeKey.value`), the
    /// rest by what they are.
    func numbered(_ key: NodeKey) -> NodeKey {
        guard case .path(let path) = key, let current else { return key }
        return .value(path, version: current.version, isField: current.field != nil)
    }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        visit(Ask.Attributes(fs: fs, inode: inode))
    }

    func kernelTimeout(in fs: SecretsFileSystem) -> Double { visit(Ask.KernelTimeout(fs: fs)) }

    func names(in fs: SecretsFileSystem) async throws -> [ListedName] { try await visit(Ask.Names(fs: fs)) }

    func xattrs(in fs: SecretsFileSystem) async -> [(String, [UInt8])] {
        (try? await visit(Ask.Xattrs(fs: fs))) ?? []
    }
}

protocol NodeVisitor {
    associatedtype Result
    func visit<Kind: NodeKind>(_ kind: Kind) -> Result
}

protocol AsyncNodeVisitor: Sendable {
    associatedtype Result
    func visit<Kind: NodeKind>(_ kind: Kind) async throws -> Result
}

/// The capabilities as visitors. Swift has no generic closures, so each is a small type.
private enum Ask {
    static let type = TypeOf()
    static let value = Value()
    static let secret = SecretOf()
    static let current = Current()
    static let target = Target()
    static let generated = Generated()

    struct TypeOf: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> NodeType { kind.type } }
    struct Value: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> SecretValue? { kind.value } }
    struct SecretOf: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> Secret? { kind.secret } }
    struct Current: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> CurrentValue? { kind.current } }
    struct Target: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> String? { kind.target } }
    struct Generated: NodeVisitor { func visit<Kind: NodeKind>(_ kind: Kind) -> ControlNode? { kind.generated } }

    struct Attributes: NodeVisitor {
        let fs: SecretsFileSystem
        let inode: UInt64
        func visit<Kind: NodeKind>(_ kind: Kind) -> NodeAttributes? { kind.attributes(in: fs, inode: inode) }
    }

    struct KernelTimeout: NodeVisitor {
        let fs: SecretsFileSystem
        func visit<Kind: NodeKind>(_ kind: Kind) -> Double { kind.kernelTimeout(in: fs) }
    }

    struct Names: AsyncNodeVisitor {
        let fs: SecretsFileSystem
        func visit<Kind: NodeKind>(_ kind: Kind) async throws -> [ListedName] { try await kind.names(in: fs) }
    }

    struct Xattrs: AsyncNodeVisitor {
        let fs: SecretsFileSystem
        func visit<Kind: NodeKind>(_ kind: Kind) async throws -> [(String, [UInt8])] { await kind.xattrs(in: fs) }
    }
}
