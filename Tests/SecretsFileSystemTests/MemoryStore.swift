import Foundation
import SecretsCore
import Synchronization

/// An in-memory `SecretStore` for tests of the file system's semantics: versions, fields, rotation.
final class MemoryStore: SecretStore {
    struct Stored {
        var versions: [Secret]
    }

    let descriptor: StoreDescriptor
    private let state = Mutex<[SecretPath: Stored]>([:])
    let reads = Atomic<Int>(0)
    let lists = Atomic<Int>(0)
    /// While set, reads wait here until `releaseReads`: a backend that stalls.
    private let stalled = Mutex<[CheckedContinuation<Void, Never>]?>(nil)
    let readsWaiting = Atomic<Int>(0)
    /// Paths whose reads fail as a backend's do: denied (403), unreachable.
    private let refusals = Mutex<[SecretPath: SecretError.Code]>([:])

    /// Whether a listing brings the current secrets of the folder too, as the local store's does.
    let listsCurrent: Bool

    init(capabilities: StoreCapabilities = [.versions, .write, .rotate], listsCurrent: Bool = false) {
        TestExecutor.installIfRequested()
        self.listsCurrent = listsCurrent
        descriptor = StoreDescriptor(backend: "memory", address: "memory", capabilities: capabilities)
    }

    func seed(_ path: String, _ content: SecretContent) {
        let path = try! SecretPath(path)
        state.withLock { state in
            var stored = state[path] ?? Stored(versions: [])
            let id = String(stored.versions.count + 1)
            stored.versions.append(
                Secret(
                    content: content, version: id,
                    createdAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(stored.versions.count))))
            state[path] = stored
        }
    }

    /// Deletes a secret, as an outside writer would.
    func remove(_ path: String) {
        let path = try! SecretPath(path)
        _ = state.withLock { $0.removeValue(forKey: path) }
    }

    /// Makes every read and version listing of `path` fail with `code`, as a backend refusing it would.
    func refuse(_ path: String, with code: SecretError.Code) {
        let path = try! SecretPath(path)
        refusals.withLock { $0[path] = code }
    }

    private func refusal(_ path: SecretPath) throws {
        if let code = refusals.withLock({ $0[path] }) { throw SecretError(code, "refused by the store", path: path) }
    }

    func stallReads() { stalled.withLock { $0 = $0 ?? [] } }

    func releaseReads() {
        let waiting = stalled.withLock { state in
            defer { state = nil }
            return state ?? []
        }
        for reader in waiting { reader.resume() }
    }

    /// Returns once a read is waiting in a stall.
    func untilAReadWaits() async {
        while readsWaiting.load(ordering: .relaxed) == 0 { await Task.yield() }
    }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        reads.add(1, ordering: .relaxed)
        await withCheckedContinuation { (reader: CheckedContinuation<Void, Never>) in
            let wait = stalled.withLock { state in
                guard state != nil else { return false }
                state!.append(reader)
                return true
            }
            if wait { readsWaiting.add(1, ordering: .relaxed) } else { reader.resume() }
        }
        try refusal(path)
        return try state.withLock { state in
            guard let stored = state[path] else { throw SecretError.notFound(path) }
            guard let version else { return stored.versions.last! }
            guard let found = stored.versions.first(where: { $0.version == version }) else {
                throw SecretError.notFound(path, "no such version")
            }
            return found
        }
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        lists.add(1, ordering: .relaxed)
        return state.withLock { Listing.children(of: folder, among: $0.keys.map(\.segments)) }
    }

    func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent {
        let listing = try await list(folder)
        guard listsCurrent else { return ListingWithCurrent(listing) }
        let current = state.withLock { state in
            listing.secrets.reduce(into: [String: Secret]()) { current, name in
                if let path = try? folder.appending(name), let last = state[path]?.versions.last {
                    current[name] = last
                }
            }
        }
        return ListingWithCurrent(listing, current: current)
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try refusal(path)
        return try state.withLock { state in
            guard let stored = state[path] else { throw SecretError.notFound(path) }
            return VersionInfo.labellingCurrentAndPrevious(
                stored.versions.map { VersionInfo(id: $0.version, createdAt: $0.createdAt) })
        }
    }

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        seed(path.string, content)
        let last = try await read(path, version: nil)
        return VersionInfo(id: last.version, createdAt: last.createdAt)
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let current = try await read(request.path, version: nil)
        let content = try current.content.rotated(field: request.field, to: request.generate())
        let info = try await write(request.path, content: content)
        return RotationResult(
            path: request.path, field: request.field, oldVersion: current.version, newVersion: info.id)
    }

    func health() async -> HealthReport { HealthReport(healthy: true, detail: "ok") }
}
