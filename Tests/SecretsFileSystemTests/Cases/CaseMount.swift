import Foundation
import Logging
import SecretsCore
import SecretsFileSystem

/// The one place the case list calls the file system's API: a rename there touches this file only.
/// A mount without a kernel: the store, the cache and `SecretsFileSystem` as `secretsfs mount`
/// wires them, asked as the FUSE layer asks for each system call.
struct CaseMount {
    let store: MemoryStore
    let clock = ManualTimeSource()
    let fs: SecretsFileSystem

    init(_ setup: CaseSetup) {
        store = MemoryStore(capabilities: setup.capabilities)
        for seed in setup.seeds {
            switch seed.content {
            case .value(let bytes): store.seed(seed.path, .value(SecretValue(bytes: bytes)))
            case .fields(let fields): store.seed(seed.path, .fields(fields.mapValues { SecretValue(bytes: $0) }))
            }
        }
        for (path, code) in setup.refusals { store.refuse(path, with: code) }
        // Every answer lives exactly the TTL: with the spread, a first answer may live as little as
        // J/2 of it, and a read after three quarters of that starts a refresh that races the next step.
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: setup.ttl, refreshJitter: 0), clock: clock,
            logger: Logger(label: "cases"), random: { 0 })
        fs = SecretsFileSystem(store: cache, options: setup.options, clock: clock, logger: Logger(label: "cases"))
    }

    /// What `operation` answers when `caller` asks it.
    func perform(_ operation: CaseOperation, as caller: CaseCaller) async -> CaseOutcome {
        if case .asked(let operation, let caller) = operation { return await perform(operation, as: caller) }
        let context = caller.context
        do {
            switch operation {
            case .lookup(let path):
                return .attributes(try await lookup(path, context).attributes)
            case .getattr(let path):
                let inode = try await inode(path, context)
                return .attributes(try await fs.getattr(inode, context: context).value.attributes)
            case .readdir(let path):
                let inode = try await inode(path, context)
                let open = try await fs.opendir(inode, context: context).value
                defer { fs.release(open.handle) }
                let entries = try await fs.readdir(inode, handle: open.handle, offset: 0, context: context).value
                return .names(entries.map(\.name))
            case .read(let path, let offset, let size):
                let inode = try await inode(path, context)
                let open = try await fs.open(inode, writing: false, context: context).value
                defer { fs.release(open.handle) }
                return .bytes(
                    try await fs.read(inode, handle: open.handle, offset: offset, size: size, context: context).value)
            case .readlink(let path):
                return .text(try await fs.readlink(try await inode(path, context)).value)
            case .openForWriting(let path):
                let open = try await fs.open(try await inode(path, context), writing: true, context: context).value
                fs.release(open.handle)
                return .done
            case .write(let path, let data):
                let inode = try await inode(path, context)
                let open = try await fs.open(inode, writing: true, context: context).value
                defer { fs.release(open.handle) }
                return .count(try await fs.write(inode, handle: open.handle, data: data, context: context).value)
            case .setattr(let path, let size, let other):
                let inode = try await inode(path, context)
                let reply = fs.setattr(inode, truncatingTo: size, otherChanges: other, context: context)
                return .attributes(try await reply.value.attributes)
            case .change:
                try await fs.refuseChange().value
                return .done
            case .getxattr(let path, let name):
                return .bytes(try await fs.getXattr(try await inode(path, context), name: name, context: context).value)
            case .listxattr(let path):
                return .names(try await fs.listXattrs(try await inode(path, context), context: context).value)
            case .pagesWithEntry(let path):
                return .bytes(try await lookup(path, context).pages.map { Array($0.withUnsafeBytes { $0 }) } ?? [])
            case .storeVersions(let path):
                return .names(try await store.versions(of: SecretPath(path)).map(\.id))
            case .storeRefuses(let path, let code):
                store.refuse(path, with: code)
                return .done
            case .advance(let duration):
                clock.advance(by: duration)
                return .done
            case .asked:
                preconditionFailure("answered above")
            }
        } catch {
            return .failed(ErrnoMapping.errno(for: error))
        }
    }

    private func lookup(_ path: String, _ context: RequestContext) async throws -> EntryReply {
        var parent = SecretsFileSystem.rootInode
        var reply: EntryReply?
        for name in path.split(separator: "/", omittingEmptySubsequences: false) {
            reply = try await fs.lookup(parent: parent, name: String(name), context: context).value
            parent = reply!.attributes.inode
        }
        guard let reply else { throw SecretError(.invalidArgument, "the root has no lookup") }
        return reply
    }

    private func inode(_ path: String, _ context: RequestContext) async throws -> UInt64 {
        path.isEmpty ? SecretsFileSystem.rootInode : try await lookup(path, context).attributes.inode
    }
}
