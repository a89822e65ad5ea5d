import Foundation
import SecretsCore

/// The kind of a node, as `stat` and `readdir` report it.
public enum NodeType: Sendable, Equatable {
    case file, directory, symlink
    /// Not known without asking the backend; `readdir` may say so and let the kernel look it up.
    case unknown
}

/// What `stat` shows for a node.
public struct NodeAttributes: Sendable, Equatable {
    public var inode: UInt64
    public var type: NodeType
    /// Permission bits only (`0o400`); the file-type bits come from `type`.
    public var permissions: UInt16
    public var size: Int
    public var modified: Date
    public var uid: UInt32
    public var gid: UInt32

    public var linkCount: Int { type == .directory ? 2 : 1 }
}

/// The answer to a lookup: the node, and how long the kernel may keep the name and the attributes.
public struct EntryReply: Sendable, Equatable {
    public var attributes: NodeAttributes
    public var entryTimeout: Double
    public var attributeTimeout: Double
    /// The bytes of a value file, for the kernel's page cache as soon as the entry is in
    /// (`SecretsFileSystem.pagesForKernel`): the read that follows the lookup then makes no READ.
    public var pages: SecretValue?

    public init(attributes: NodeAttributes, entryTimeout: Double, attributeTimeout: Double, pages: SecretValue? = nil) {
        self.attributes = attributes
        self.entryTimeout = entryTimeout
        self.attributeTimeout = attributeTimeout
        self.pages = pages
    }
}

/// The answer to `getattr`.
public struct AttributeReply: Sendable, Equatable {
    public var attributes: NodeAttributes
    public var timeout: Double
}

/// The answer to `open`/`opendir`: the handle and how the kernel should cache the file's pages.
public struct OpenReply: Sendable, Equatable {
    public var handle: UInt64
    /// Every read goes to the daemon; nothing is kept in the page cache.
    public var directIO: Bool
    /// Keep pages cached across opens: the daemon invalidates them when the value changes.
    public var keepCache: Bool
    /// A stream (`.events`): no offsets, `lseek` fails.
    public var nonSeekable = false
}

/// One name in a folder listing; `offset` is what the kernel hands back to continue after it.
public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    public var inode: UInt64
    public var type: NodeType
    public var offset: Int
}

/// One name of a READDIRPLUS answer: the name, and what a LOOKUP of it would answer, or nil where
/// that would cost a backend call (the kernel looks the name up itself when it needs it).
public struct DirectoryPlusEntry: Sendable, Equatable {
    public var entry: DirectoryEntry
    public var lookup: EntryReply?
}

/// Who is asking, from the FUSE request header.
public struct RequestContext: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32

    /// For calls made without a kernel request, in tests and tools: no user (uid and gid -1, as
    /// `chown` spells "none"), never root. A policy or an audit, which need a caller, refuse it.
    public static let unknown = RequestContext(uid: .max, gid: .max, pid: 0)

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}

/// How the file system reaches the kernel's caches; the FUSE layer implements it.
public protocol KernelCacheInvalidator: Sendable {
    /// Drops the attributes and cached pages of `inode`.
    func invalidateInode(_ inode: UInt64)
    /// Drops the kernel's memory of `name` in folder `parent`.
    func invalidateEntry(parent: UInt64, name: String)
    /// Returns once the kernel has acted on every invalidation asked for before this call.
    func flush() async
}

extension KernelCacheInvalidator {
    public func flush() async {}
}
