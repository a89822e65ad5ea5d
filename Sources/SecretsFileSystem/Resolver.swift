import Logging
import SecretsCore
import Synchronization

/// Keys to nodes: what an inode number stands for, what a name in a folder is, and what a key is
/// right now in the store. Knows nothing of handles, callers or the kernel.
final class Resolver: Sendable {
    let store: CachingSecretStore
    let inodes: InodeTable
    let logger: Logger
    let rendered: RenderedFiles
    private let loggedCollisions = LogOnce()
    private let loggedNames = LogOnce()

    init(store: CachingSecretStore, inodes: InodeTable, logger: Logger, rendered: RenderedFiles = .none) {
        self.store = store
        self.inodes = inodes
        self.logger = logger
        self.rendered = rendered
    }

    var capabilities: StoreCapabilities { store.descriptor.capabilities }

    func key(_ inode: UInt64) throws -> NodeKey {
        guard let key = inodes.key(for: inode) else { throw SecretError(.notFound, "stale inode") }
        return key
    }

    /// The key of `name` inside the node `parent`, or notFound.
    func childKey(of parent: NodeKey, named name: String) async throws -> NodeKey {
        if name.utf8.count > SecretPath.maxSegmentBytes { throw SecretError(.nameTooLong, "name too long") }
        switch parent {
        case .path(let folder):
            if let control = ControlFiles.named(name, in: folder) { return .control(control, in: folder) }
            if name == ".versions", capabilities.contains(.versions) { return .versionsRoot(folder: folder) }
            let path = try segment(name, in: folder)
            return rendered.file(at: path) == nil ? .path(path) : .rendered(path)
        case .versionsRoot(let folder):
            return .versions(of: try segment(name, in: folder))
        case .versions(let secret):
            let versions = try await store.versions(of: secret)
            if versions.contains(where: { $0.labels.contains(name) }) { return .label(of: secret, label: name) }
            if versions.contains(where: { $0.id == name }) { return .version(of: secret, id: name) }
            throw SecretError.notFound(secret, "no such version")
        case .version(let secret, let id):
            return .versionField(of: secret, id: id, field: name)
        default:
            throw SecretError(.notFound, "not a folder")
        }
    }

    private func segment(_ name: String, in folder: SecretPath) throws -> SecretPath {
        guard SecretPath.isValidSegment(name) else { throw SecretError(.notFound, "no such name") }
        return try folder.appending(name)
    }

    func resolve(_ key: NodeKey, outcome: OutcomeRecorder? = nil) async throws -> Node {
        switch key {
        case .path(let path) where rendered.isFolder(path):
            return try await renderedFolder(path, outcome: outcome)
        case .path(let path):
            return try await resolvePath(path, outcome: outcome)
        case .rendered(let path):
            return try await render(path, outcome: outcome)
        case .value(let path, let version, let isField):
            return try await resolveValue(path, version: version, isField: isField, outcome: outcome)
        case .versionsRoot(let folder):
            guard capabilities.contains(.versions),
                case .folder(let node) = try await resolvePath(folder, outcome: outcome), node.isPrefix
            else {
                throw SecretError.notFound(folder, "no versions here")
            }
            return .versionsRoot(VersionsRoot(folder: folder))
        case .versions(let secret):
            _ = try await store.versions(of: secret)
            return .versions(VersionList(secretPath: secret))
        case .version(let secret, let id):
            let version = try await read(secret, version: id, outcome: outcome)
            switch version.content {
            case .value(let value):
                return .versionFile(VersionFile(secretPath: secret, id: id, version: version, bytes: value))
            case .fields(let fields):
                return .versionFolder(VersionFolder(secretPath: secret, id: id, version: version, fields: fields))
            }
        case .versionField(let secret, let id, let field):
            let version = try await read(secret, version: id, outcome: outcome)
            guard case .fields(let fields) = version.content, let value = fields[field] else {
                throw SecretError.notFound(secret, "no such field")
            }
            return .versionField(
                VersionFieldFile(secretPath: secret, id: id, name: field, version: version, bytes: value))
        case .label(let secret, let label):
            let versions = try await store.versions(of: secret)
            guard let target = versions.first(where: { $0.labels.contains(label) }) else {
                throw SecretError.notFound(secret, "no such label")
            }
            return .label(VersionLabel(secretPath: secret, label: label, target: target.id))
        case .control(let id, let folder):
            // A control file is there while its folder is (the root always is).
            if !folder.isRoot {
                guard try await resolve(.path(folder)).isDirectory else {
                    throw SecretError.notFound(folder, "not a folder")
                }
            }
            return .control(ControlNode(id: id, folder: folder))
        }
    }

    /// Decides what a path is now: a secret is looked for among its parent's listed secrets, then
    /// its folders, then the fields of a multi-field parent, and last by reading it, for stores
    /// where a name has several spellings (env).
    func resolvePath(_ path: SecretPath, outcome: OutcomeRecorder? = nil) async throws -> Node {
        guard let parent = path.parent else { return .folder(.prefix(.root)) }
        let listing: Listing
        if outcome?.keptOnly == true {
            guard let kept = try await store.listKept(parent) else { throw Self.notKept }
            listing = kept
        } else {
            if store.policy.ttl == .zero, let node = try await probe(path, in: parent, outcome: outcome) {
                return node
            }
            listing = try await store.list(parent, lookingUp: path.name)
        }
        let isPrefix = listing.folders.contains(path.name)
        if listing.secrets.contains(path.name) {
            do {
                return try await node(reading: path, isPrefix: isPrefix, outcome: outcome)
            } catch let error as SecretError where error.code == .notFound && isPrefix {
                // Deleted since the listing; the prefix folder remains.
            }
        }
        if isPrefix { return .folder(.prefix(path)) }
        if !parent.isRoot, case .folder(let folder) = try? await resolvePath(parent, outcome: outcome),
            let field = folder.field(at: path)
        {
            return field
        }
        return try await node(reading: path, isPrefix: false, outcome: outcome)
    }

    /// At TTL 0, what `path` is when its parent's listing is not at hand, without listing the parent:
    /// the kernel looks up one name at a time, and a listing per folder along the path would cost more
    /// than the one read of the open (DESIGN §1.1). A folder seen a moment ago is a folder (no call); else
    /// the name is asked for as what it most likely is. Below the root, a secret: a GET that finds it
    /// is the very read the open uses. At the root, a folder (trees are namespaced): a listing of it
    /// that shows anything proves it and answers the lookup of the next name inside at no cost, so
    /// `team/app/key` costs the listing of `team` and the read of `key`. Only when the first probe
    /// misses is the other made, and then the parent is read for a field of that name. Nil: the
    /// parent's listing is at hand, and decides.
    private func probe(_ path: SecretPath, in parent: SecretPath, outcome: OutcomeRecorder?) async throws -> Node? {
        switch await store.lookupHint(path) {
        case .parentListed:
            return nil
        case .folder:
            return .folder(.prefix(path))
        case .unknown:
            break
        }
        let folder = Node.folder(.prefix(path))
        if parent.isRoot {
            if try await store.isFolder(path) { return folder }
            if let node = try await probeRead(path, outcome: outcome) { return node }
            throw SecretError.notFound(path, "no such secret or folder")
        }
        if let node = try await probeRead(path, outcome: outcome) { return node }
        if try await store.isFolder(path) { return folder }
        // A field of a multi-field parent (which may be a folder of secrets as well).
        if case .folder(let secret)? = try await probeRead(parent, outcome: outcome), let field = secret.field(at: path)
        {
            return field
        }
        throw SecretError.notFound(path, "no such secret or folder")
    }

    /// The node `path` is as a secret, or nil when the store has no such secret.
    private func probeRead(_ path: SecretPath, outcome: OutcomeRecorder?) async throws -> Node? {
        do {
            return try await node(reading: path, isPrefix: false, outcome: outcome)
        } catch let error as SecretError where error.code == .notFound {
            return nil
        }
    }

    /// A value file as of one version: the current node while that version is current (no extra
    /// backend call), else that version read from the store, for descriptors still open on it.
    private func resolveValue(
        _ path: SecretPath, version: String, isField: Bool, outcome: OutcomeRecorder?
    ) async throws -> Node {
        if let current = try? await resolvePath(path, outcome: outcome), current.value != nil,
            current.secret?.version == version
        {
            return current
        }
        if isField, let parent = path.parent {
            let secret = try await read(parent, version: version, outcome: outcome)
            guard case .fields(let fields) = secret.content, let value = fields[path.name] else {
                throw SecretError.notFound(path, "no such field in that version")
            }
            return .field(FieldFile(secretPath: parent, name: path.name, path: path, version: secret, bytes: value))
        }
        let secret = try await read(path, version: version, outcome: outcome)
        guard case .value(let value) = secret.content else {
            throw SecretError.notFound(path, "that version is not a file")
        }
        return .secretFile(SecretFile(path: path, version: secret, bytes: value))
    }

    private func node(reading path: SecretPath, isPrefix: Bool, outcome: OutcomeRecorder?) async throws -> Node {
        let secret = try await read(path, version: nil, outcome: outcome)
        switch secret.content {
        case .value(let value):
            if isPrefix {
                logCollisionOnce(path, "a secret and a folder share this name; the folder is shown")
                return .folder(.prefix(path))
            }
            return .secretFile(SecretFile(path: path, version: secret, bytes: value))
        case .fields(let fields):
            return .folder(SecretFolder(path: path, isPrefix: isPrefix, version: secret, fields: fields))
        }
    }

    private func read(_ path: SecretPath, version: String?, outcome: OutcomeRecorder?) async throws -> Secret {
        guard let outcome else { return try await store.read(path, version: version) }
        if outcome.keptOnly {
            guard version == nil, let kept = try await store.readKept(path) else { throw Self.notKept }
            outcome.value = kept.outcome
            return kept.value
        }
        let answer = try await store.readWithOutcome(path, version: version)
        outcome.value = answer.outcome
        return answer.value
    }

    /// What a resolution that may not read the store (`OutcomeRecorder.keptOnly`) throws when it
    /// would have to. Its callers catch it: it never reaches the kernel.
    static let notKept = SecretError(.unavailable, "value not kept in the cache")

    func logCollisionOnce(_ path: SecretPath, _ message: Logger.Message) {
        let first = loggedCollisions.first(path.string)
        if first { logger.warning(message, metadata: ["path": "\(path)"]) }
    }

    /// A name is metadata, not a value, but may be long or odd: the log gets its start, escaped.
    func logSkippedNameOnce(_ name: String, in folder: SecretPath) {
        let first = loggedNames.first("\(folder.string)\u{0}\(name)")
        guard first else { return }
        logger.warning(
            "name cannot be shown as a file name; skipped",
            metadata: [
                "folder": "\(folder)", "name": "\(name.prefix(64).debugDescription)", "bytes": "\(name.utf8.count)",
            ])
    }
}
