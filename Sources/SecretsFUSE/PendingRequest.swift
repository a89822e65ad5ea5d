import SecretsFileSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A request answered later, by a task: replied to exactly once, by the task or, when the kernel
/// sends INTERRUPT (the caller got a signal), at once with EINTR. The interrupt also cancels the
/// task, so work that heeds cancellation stops; work that does not (a backend call already sent)
/// finishes in the background and its answer is dropped, and the caller is not kept waiting for it.
final class PendingRequest: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var interrupted = false
        /// Set while the interrupt callback is being registered: libfuse calls it from inside the
        /// registration when the INTERRUPT came first, under a lock a reply must not race with.
        var registering = false
    }

    private let state = Mutex(State())
    private let replied = Atomic(false)
    private let send: @Sendable (Reply) -> Void

    init(send: @escaping @Sendable (Reply) -> Void) { self.send = send }

    var isInterrupted: Bool { state.withLock { $0.interrupted } }

    /// Sends `reply` unless something was sent already; says whether it did.
    @discardableResult
    func reply(_ reply: Reply) -> Bool {
        guard !replied.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        send(reply)
        return true
    }

    /// Brackets the registration of the interrupt callback; returns whether it was interrupted meanwhile.
    func registering(_ register: () -> Void) -> Bool {
        state.withLock { $0.registering = true }
        register()
        return state.withLock { state in
            state.registering = false
            return state.interrupted
        }
    }

    /// Runs `task`, or cancels it at once when the request was interrupted before it started.
    func start(_ task: Task<Void, Never>) {
        let cancel = state.withLock { state in
            state.task = task
            return state.interrupted
        }
        if cancel { task.cancel() }
    }

    /// The kernel's INTERRUPT for this request.
    func interrupt() {
        let (task, registering) = state.withLock { state in
            state.interrupted = true
            return (state.task, state.registering)
        }
        task?.cancel()
        if !registering { reply(.error(EINTR)) }
    }
}
