import SecretsCore
import Synchronization

/// What an open file or folder holds until it is released: the bytes it reads (so a reader sees
/// one whole version however the value changes meanwhile), or the entries of a folder.
enum Handle: Sendable {
    case bytes(SecretValue)
    case directory([DirectoryEntry])
    case events(EventStream)
}

final class HandleTable: Sendable {
    private struct State {
        var handles: [UInt64: Handle] = [:]
        var next: UInt64 = 1
    }

    private let state: Mutex<State>

    /// Handles start at `generation << 40`: a worker that replaces another never gives out a handle
    /// the kernel still holds from the one before (it may, for a file opened then).
    init(generation: UInt32 = 0) {
        state = Mutex(State(next: (UInt64(generation) << 40) + 1))
    }

    func insert(_ handle: Handle) -> UInt64 {
        state.withLock { state in
            let id = state.next
            state.next += 1
            state.handles[id] = handle
            return id
        }
    }

    func get(_ id: UInt64) -> Handle? { state.withLock { $0.handles[id] } }

    /// The handle `id`, made by `make` if this worker never gave it out: a worker that took over
    /// from another serves the descriptors the kernel opened through the one before.
    func get(_ id: UInt64, orAdopt make: () -> Handle) -> Handle {
        state.withLock { state in
            if let existing = state.handles[id] { return existing }
            let made = make()
            state.handles[id] = made
            return made
        }
    }

    @discardableResult
    func remove(_ id: UInt64) -> Handle? { state.withLock { $0.handles.removeValue(forKey: id) } }

    var count: Int { state.withLock { $0.handles.count } }

    func forEach(_ body: (Handle) -> Void) {
        for handle in state.withLock({ Array($0.handles.values) }) { body(handle) }
    }
}
