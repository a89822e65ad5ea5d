import Foundation
import SecretsCore

/// A file the mount makes rather than the store holds (`.rotate`, `.status`, `.metrics`, `.events`):
/// its name, where it is, what `stat` shows and what a read gets. Its key is `NodeKey.control`, its
/// node `Node.control`; resolution, listings, attributes and the node records a new worker inherits
/// read them from `ControlFiles.all`, so a new control file is its type and one line there.
/// What it can do beyond being read is a capability it adopts, as go-fuse's `NodeOpener` and
/// `NodeWriter`: `ControlFileOpener`, `ControlFileWriter`.
protocol ControlFile: Sendable {
    /// Its name in a folder. It starts with a dot, which no secret's name may.
    var name: String { get }
    /// Its kind in the node records a new worker inherits (`NodeKeyCodec`): never changed and never
    /// reused, or a worker started across an upgrade would misread the kernel's inode numbers.
    var recordTag: String { get }
    /// In every folder (`.rotate`), or in the root alone.
    var inEveryFolder: Bool { get }
    /// Whether a folder's listing shows it.
    var listed: Bool { get }
    var permissions: UInt16 { get }
    /// What `stat` shows when that is fixed; nil when it is the bytes a reader would get now.
    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes?
    /// The bytes a read of it in `folder` gets now, as `reader` may see them.
    func contents(in fs: SecretsFileSystem, folder: SecretPath, reader: RequestContext) async throws -> [UInt8]
}

extension ControlFile {
    var inEveryFolder: Bool { false }
    var listed: Bool { true }
    var permissions: UInt16 { 0o444 }
    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? { nil }
}

/// A control file whose open is its own; the others open as a handle on the bytes `contents` made
/// for the opener.
protocol ControlFileOpener: ControlFile {
    func open(in fs: SecretsFileSystem, writing: Bool, caller: Caller?) -> Answer<OpenReply>
}

/// A control file that takes writes. A truncation to nothing is accepted too: it is how shells
/// open a file for `>`.
protocol ControlFileWriter: ControlFile {
    func write(in fs: SecretsFileSystem, folder: SecretPath, data: [UInt8], caller: Caller?) -> Answer<Int>
}

/// A control file, as a key holds it: its place in `ControlFiles.all`.
struct ControlFileID: Hashable, Sendable {
    let index: UInt8

    var file: any ControlFile { ControlFiles.all[Int(index)] }
}

/// The one list of control files, in the order a listing shows them.
enum ControlFiles {
    static let all: [any ControlFile] = [
        RotateFile(),
        StatusFile(),
        MetricsFile(),
        EventsFile(),
    ]

    static let ids = all.indices.map { ControlFileID(index: UInt8($0)) }

    /// The control file `name` is in `folder`, if any.
    static func named(_ name: String, in folder: SecretPath) -> ControlFileID? {
        // Every control file's name starts with a dot: a secret's name costs one comparison.
        guard name.utf8.first == UInt8(ascii: ".") else { return nil }
        return ids.first { $0.file.name == name && ($0.file.inEveryFolder || folder.isRoot) }
    }

    static func tagged(_ tag: String) -> ControlFileID? {
        ids.first { $0.file.recordTag == tag }
    }
}

/// A control file in `folder`, as a node: what it shows is its own (`ControlFile`), made for each
/// reader, so the kernel keeps none of its attributes.
struct ControlNode: NodeKind {
    let id: ControlFileID
    let folder: SecretPath

    var generated: ControlNode? { self }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        id.file.attributes(in: fs, inode: inode)
    }

    func kernelTimeout(in fs: SecretsFileSystem) -> Double { 0 }
}
