import SecretsCore
import SecretsTemplates
import Synchronization

/// One entry of `files:`: a path in the mount whose bytes a template makes from secrets, and the
/// owner and mode its reader demands (nil: the mount's defaults).
public struct RenderedFile: Sendable {
    public var path: SecretPath
    public var template: CompiledTemplate
    public var mode: UInt16?
    public var uid: UInt32?
    public var gid: UInt32?
    /// The secrets the template names, as paths in the mount: what a change must be matched against.
    let inputPaths: [SecretPath]

    public init(
        path: SecretPath, template: CompiledTemplate, mode: UInt16? = nil, uid: UInt32? = nil, gid: UInt32? = nil
    ) throws(SecretError) {
        guard !path.isRoot else { throw SecretError(.configuration, "a rendered file needs a path") }
        self.path = path
        self.template = template
        self.mode = mode
        self.uid = uid
        self.gid = gid
        var inputs: [SecretPath] = []
        for reference in template.inputs {
            do {
                inputs.append(try SecretPath(reference.path))
            } catch {
                throw SecretError(.configuration, "\(template.origin): '\(reference.path)' is not a path in the mount")
            }
        }
        self.inputPaths = inputs
    }
}

/// The rendered files of a mount and the folders their paths imply, which exist whether or not the
/// store has anything there (merged with the store's listing where it does).
public struct RenderedFiles: Sendable {
    let files: [SecretPath: RenderedFile]
    /// Each implied folder with the names directly inside it.
    private let folders: [SecretPath: Set<String>]
    /// The inputs each file's last render read, which include those only an `if` reaches.
    private let lastRead = LastRead()

    public static let none = RenderedFiles()

    private init() {
        files = [:]
        folders = [:]
    }

    public init(_ list: [RenderedFile]) throws(SecretError) {
        var files: [SecretPath: RenderedFile] = [:]
        var folders: [SecretPath: Set<String>] = [:]
        for file in list {
            guard files[file.path] == nil else {
                throw SecretError(.configuration, "two rendered files at \(file.path)")
            }
            files[file.path] = file
            var child = file.path
            while let parent = child.parent {
                folders[parent, default: []].insert(child.name)
                child = parent
            }
        }
        for path in files.keys where folders[path] != nil {
            throw SecretError(.configuration, "rendered file \(path) is also the folder of another")
        }
        self.files = files
        self.folders = folders
    }

    public var isEmpty: Bool { files.isEmpty }

    /// Every rendered file, by path.
    public var all: [RenderedFile] { files.values.sorted { $0.path < $1.path } }

    public func file(at path: SecretPath) -> RenderedFile? { files[path] }

    /// Whether `path` is a folder because a rendered file lies below it.
    func isFolder(_ path: SecretPath) -> Bool { !path.isRoot && folders[path] != nil }

    /// The names a rendered file or implied folder adds to `folder`'s listing.
    func children(of folder: SecretPath) -> [(name: String, isFolder: Bool)] {
        (folders[folder] ?? []).sorted().map { name in
            let path = (try? folder.appending(name)) ?? folder
            return (name, files[path] == nil)
        }
    }

    /// The rendered files a change the cache saw for `changed` (a secret's path) may change: those
    /// with an input that is that secret or one of its fields.
    func dependents(of changed: SecretPath) -> [SecretPath] {
        let read = lastRead.state.withLock { $0 }
        return files.values.filter { file in
            (file.inputPaths + (read[file.path] ?? [])).contains { $0 == changed || $0.parent == changed }
        }.map(\.path)
    }

    /// Records what a render of `file` read, for `dependents`.
    func rendered(_ file: SecretPath, from inputs: some Sequence<TemplateReference>) {
        let paths = inputs.compactMap { try? SecretPath($0.path) }
        lastRead.state.withLock { $0[file] = paths }
    }
}

private final class LastRead: Sendable {
    let state = Mutex<[SecretPath: [SecretPath]]>([:])
}
