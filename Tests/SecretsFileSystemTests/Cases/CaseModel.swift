import Foundation
import SecretsCore
import SecretsFileSystem
import Testing

/// One behaviour of the mount, checked without the kernel (rclone's `vfstest` idea): what the store
/// holds and how the mount is set up, then operations in order, each with the answer it must give.
/// The mount suite keeps only what needs the kernel; `docs/TESTING.md` says which is where.
struct FileSystemCase: Sendable, CustomTestStringConvertible {
    var name: String
    var setup: CaseSetup = .sample
    var steps: [CaseStep]

    init(_ name: String, _ setup: CaseSetup = .sample, _ steps: [CaseStep]) {
        self.name = name
        self.setup = setup
        self.steps = steps
    }

    var testDescription: String { name }
}

/// A secret as the store is given it: raw bytes, so a case can say which values must never show.
struct Seed: Sendable {
    enum Content: Sendable {
        case value([UInt8])
        case fields([String: [UInt8]])
    }

    var path: String
    var content: Content

    static func value(_ path: String, _ text: String) -> Seed { Seed(path: path, content: .value(Array(text.utf8))) }
    static func bytes(_ path: String, _ bytes: [UInt8]) -> Seed { Seed(path: path, content: .value(bytes)) }
    static func fields(_ path: String, _ fields: [String: String]) -> Seed {
        Seed(path: path, content: .fields(fields.mapValues { Array($0.utf8) }))
    }

    var values: [[UInt8]] {
        switch content {
        case .value(let bytes): return [bytes]
        case .fields(let fields): return Array(fields.values)
        }
    }
}

/// The store's contents, what it can do, how it fails, and the mount's options.
struct CaseSetup: Sendable {
    /// In order: a second seed of a path is its next version (ids 1, 2, 3 …, each a second later).
    var seeds: [Seed]
    var capabilities: StoreCapabilities = [.versions, .write, .rotate]
    /// Reads of these paths fail as a backend's do.
    var refusals: [String: SecretError.Code] = [:]
    var options = FileSystemOptions(uid: 7, gid: 8, callers: FixedCallers(callers: CaseCaller.all))
    var ttl: Duration = .seconds(300)

    /// The seeds of the mount suite's `sample` fixture, so a case and the mount test it replaced
    /// speak of the same files: `openai/api_key` in three versions (created at 1_700_000_000 + 0,
    /// 1, 2 s), `db` a multi-field secret whose first version has no password, a binary file.
    static let sample = CaseSetup(seeds: [
        .value("openai/api_key", "sk-first-0000000001"),
        .value("openai/api_key", "sk-second-000000002"),
        .value("openai/api_key", "sk-current-00000003"),
        .fields("db", ["username": "alice-the-user"]),
        .fields("db", ["username": "alice-the-user", "password": "hunter2-password"]),
        .bytes("bin/blob", [0, 1, 2, 255, 254, 10, 0]),
        .value("top", "top-level-value-xyz"),
    ])

    /// This setup changed by `change`.
    func with(_ change: (inout CaseSetup) -> Void) -> CaseSetup {
        var copy = self
        change(&copy)
        return copy
    }

    /// Every value the store was given: none may show in a control file, an xattr or a listing.
    var planted: [[UInt8]] { seeds.flatMap(\.values) }
}

/// Who makes a request. The owner is root, as the mount suite runs; the others exist for policy cases.
enum CaseCaller: Sendable {
    case owner, alice, bob

    var context: RequestContext {
        switch self {
        case .owner: return RequestContext(uid: 0, gid: 0, pid: 1)
        case .alice: return RequestContext(uid: 1001, gid: 100, pid: 2)
        case .bob: return RequestContext(uid: 1002, gid: 200, pid: 3)
        }
    }

    static let all: [UInt32: Caller] = [
        0: Caller(uid: 0, gid: 0, pid: 1),
        1001: Caller(uid: 1001, gid: 100, pid: 2),
        1002: Caller(uid: 1002, gid: 200, pid: 3),
    ]
}

/// What a step asks, by path from the mount's root ("" is the root). Each is what the FUSE layer
/// asks for one system call: `read` is LOOKUPs along the path, OPEN, READ and RELEASE.
enum CaseOperation: Sendable, CustomStringConvertible {
    case lookup(String)
    case getattr(String)
    case readdir(String)
    case read(String, offset: Int = 0, size: Int = 1 << 16)
    case readlink(String)
    case openForWriting(String)
    /// OPEN for writing, WRITE at offset 0, RELEASE: what `echo … > FILE` does after its truncation.
    case write(String, [UInt8])
    /// SETATTR: a truncation to `size`, or any other change (chmod, chown, utimes).
    case setattr(String, truncateTo: Int?, otherChanges: Bool)
    /// MKDIR, UNLINK, RMDIR, RENAME, SYMLINK, LINK, CREATE, MKNOD, SETXATTR, REMOVEXATTR: every
    /// change the FUSE layer refuses without asking a node.
    case change
    case getxattr(String, String)
    case listxattr(String)
    /// The bytes a LOOKUP's reply hands the kernel's page cache with the entry (`EntryReply.pages`);
    /// none is no bytes.
    case pagesWithEntry(String)
    /// Not a request: the version ids the store itself holds now, as `secretsfs versions` shows them.
    case storeVersions(String)
    /// Not a request: the injected clock moves on.
    case advance(Duration)
    /// Not a request: from now on the store refuses reads of the path, as a failing backend would.
    case storeRefuses(String, SecretError.Code)
    /// The operation asked by someone other than the owner: `.read(p).by(.bob) => .errno(EACCES)`.
    indirect case asked(CaseOperation, CaseCaller)

    func by(_ caller: CaseCaller) -> CaseOperation { .asked(self, caller) }

    static func write(_ path: String, _ text: String) -> CaseOperation { .write(path, Array(text.utf8)) }

    var description: String {
        switch self {
        case .lookup(let p): return "lookup \(p)"
        case .getattr(let p): return "getattr \(p)"
        case .readdir(let p): return "readdir \(p)"
        case .read(let p, let offset, let size): return "read \(p) @\(offset)+\(size)"
        case .readlink(let p): return "readlink \(p)"
        case .openForWriting(let p): return "open for writing \(p)"
        case .write(let p, let data): return "write \(data.count) bytes to \(p)"
        case .setattr(let p, let size, let other): return "setattr \(p) size \(size.map(String.init) ?? "-") \(other)"
        case .change: return "a change of the tree"
        case .getxattr(let p, let name): return "getxattr \(p) \(name)"
        case .listxattr(let p): return "listxattr \(p)"
        case .pagesWithEntry(let p): return "pages with the entry of \(p)"
        case .storeVersions(let p): return "store versions of \(p)"
        case .advance(let d): return "advance the clock \(d)"
        case .storeRefuses(let p, let code): return "the store refuses \(p): \(code)"
        case .asked(let operation, let caller): return "\(operation) by \(caller)"
        }
    }

    /// Whether the answer is made by the mount rather than read from a secret (a control file, an
    /// xattr, a listing), so no secret's value may appear in it.
    var answerIsMade: Bool {
        switch self {
        case .read(let path, _, _):
            return path.split(separator: "/").last.map { $0.hasPrefix(".") } ?? true
        case .getxattr, .listxattr, .readdir, .readlink: return true
        case .asked(let operation, _): return operation.answerIsMade
        default: return false
        }
    }
}

struct CaseStep: Sendable {
    var operation: CaseOperation
    var caller: CaseCaller
    var expect: CaseExpectation
    /// A name for this step's answer that a later step's `.sameInode(as:)` can refer to.
    var tag: String?
}

/// `op => expectation` reads as the table rows do.
infix operator => : AssignmentPrecedence

func => (operation: CaseOperation, expect: CaseExpectation) -> CaseStep {
    if case .asked(let operation, let caller) = operation {
        return CaseStep(operation: operation, caller: caller, expect: expect)
    }
    return CaseStep(operation: operation, caller: .owner, expect: expect)
}

extension CaseStep {
    func tagged(_ tag: String) -> CaseStep {
        var copy = self
        copy.tag = tag
        return copy
    }
}
