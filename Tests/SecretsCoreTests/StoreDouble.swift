import SecretsCore
import Synchronization

/// Holds callers until released; once open, stays open.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}

/// A `SecretStore` in memory that counts its calls and can be told to fail or to block, so the
/// cache in front of it can be watched from outside.
final class StoreDouble: SecretStore {
    struct Calls: Sendable {
        var reads = 0
        var readsByPath: [SecretPath: Int] = [:]
        var lists = 0
        var versions = 0
        var writes = 0
        var rotations = 0
        /// The deadline each read was told it has (`CallDeadline.enclosing`).
        var readDeadlines: [Duration?] = []
    }

    private struct State {
        var secrets: [SecretPath: (content: SecretContent, version: Int)] = [:]
        var calls = Calls()
        var failure: SecretError.Code?
        var gate: Gate?
        var listsCurrent = false
        var replicaMisses = false
    }

    let descriptor: StoreDescriptor
    private let state = Mutex(State())

    init(capabilities: StoreCapabilities = [.versions, .write, .rotate]) {
        descriptor = StoreDescriptor(backend: "double", address: "memory", capabilities: capabilities)
    }

    var calls: Calls { state.withLock { $0.calls } }

    /// Every later call throws `code` (nil: stop failing).
    func fail(with code: SecretError.Code?) { state.withLock { $0.failure = code } }

    /// Whether a read's NotFound comes from a replica that may be behind (a Vault standby).
    func missFromReplica(_ on: Bool) { state.withLock { $0.replicaMisses = on } }

    /// Whether listings bring the current secrets directly in the folder, as the local store's do.
    func listCurrent(_ on: Bool) { state.withLock { $0.listsCurrent = on } }

    /// Every later read waits at `gate` before answering (nil: stop blocking).
    func block(with gate: Gate?) { state.withLock { $0.gate = gate } }

    /// Changes a secret behind the cache's back, as another writer would.
    func set(_ path: SecretPath, _ value: String) {
        state.withLock { state in
            let version = (state.secrets[path]?.version ?? 0) + 1
            state.secrets[path] = (.value(SecretValue(string: value)), version)
        }
    }

    /// Makes `path` a multi-field secret behind the cache's back.
    func setFields(_ path: SecretPath, _ fields: [String: String]) {
        state.withLock { state in
            let version = (state.secrets[path]?.version ?? 0) + 1
            state.secrets[path] = (.fields(fields.mapValues { SecretValue(string: $0) }), version)
        }
    }

    /// Deletes a secret behind the cache's back.
    func remove(_ path: SecretPath) {
        _ = state.withLock { $0.secrets.removeValue(forKey: path) }
    }

    func read(_ path: SecretPath, version: String?) async throws -> Secret {
        let gate = state.withLock { state in
            state.calls.reads += 1
            state.calls.readsByPath[path, default: 0] += 1
            state.calls.readDeadlines.append(CallDeadline.enclosing)
            return state.gate
        }
        if let gate { await gate.wait() }
        return try state.withLock { state throws(SecretError) -> Secret in
            if let failure = state.failure { throw SecretError(failure, "told to fail", path: path) }
            guard let entry = state.secrets[path], version == nil || version == String(entry.version) else {
                var missing = SecretError.notFound(path)
                missing.fromReplica = state.replicaMisses
                throw missing
            }
            return Secret(content: entry.content, version: String(entry.version), createdAt: nil)
        }
    }

    func list(_ folder: SecretPath) async throws -> Listing {
        try state.withLock { state throws(SecretError) -> Listing in
            state.calls.lists += 1
            if let failure = state.failure { throw SecretError(failure, "told to fail", path: folder) }
            return Listing.children(of: folder, among: state.secrets.keys.map(\.segments))
        }
    }

    func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent {
        let listing = try await list(folder)
        return state.withLock { state in
            guard state.listsCurrent else { return ListingWithCurrent(listing) }
            var current: [String: Secret] = [:]
            for (path, entry) in state.secrets where path.parent == folder {
                current[path.name] = Secret(content: entry.content, version: String(entry.version), createdAt: nil)
            }
            return ListingWithCurrent(listing, current: current)
        }
    }

    func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try state.withLock { state throws(SecretError) -> [VersionInfo] in
            state.calls.versions += 1
            if let failure = state.failure { throw SecretError(failure, "told to fail", path: path) }
            guard let entry = state.secrets[path] else { throw SecretError.notFound(path) }
            return VersionInfo.labellingCurrentAndPrevious(
                (1...entry.version).map { VersionInfo(id: String($0), createdAt: nil) })
        }
    }

    func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try state.withLock { state throws(SecretError) -> VersionInfo in
            state.calls.writes += 1
            if let failure = state.failure { throw SecretError(failure, "told to fail", path: path) }
            let version = (state.secrets[path]?.version ?? 0) + 1
            state.secrets[path] = (content, version)
            return VersionInfo(id: String(version), createdAt: nil, labels: [VersionInfo.current])
        }
    }

    func rotate(_ request: RotationRequest) async throws -> RotationResult {
        try state.withLock { state throws(SecretError) -> RotationResult in
            state.calls.rotations += 1
            if let failure = state.failure { throw SecretError(failure, "told to fail", path: request.path) }
            guard let entry = state.secrets[request.path] else { throw SecretError.notFound(request.path) }
            let content = try entry.content.rotated(field: request.field, to: request.generate())
            state.secrets[request.path] = (content, entry.version + 1)
            return RotationResult(
                path: request.path, field: request.field, oldVersion: String(entry.version),
                newVersion: String(entry.version + 1))
        }
    }

    func health() async -> HealthReport { HealthReport(healthy: true, detail: "double") }
}

func path(_ string: String) -> SecretPath {
    // Test paths are literals known to be valid.
    try! SecretPath(string)
}

func text(of secret: Secret) -> String? {
    guard case .value(let value) = secret.content else { return nil }
    return value.utf8String()
}

/// Polls `condition` between yields, for at most about five seconds, without sleeping a fixed time.
func eventually(_ condition: () async -> Bool) async -> Bool {
    // Generous: on a loaded CI machine a task may wait seconds for a thread.
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        await Task.yield()
    }
    return await condition()
}
