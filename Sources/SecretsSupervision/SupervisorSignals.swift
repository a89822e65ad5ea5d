import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The signals the supervisor lives on, and how they reach its Dispatch sources and nothing else.
///
/// On Linux a Dispatch signal source reads a signalfd, which sees a signal only while it is pending,
/// so only while every thread blocks it; a thread that does not block it takes it at its disposition
/// (SIG_DFL discards a SIGCHLD, SIG_IGN a SIGTERM). libdispatch covers this with a handler that blocks
/// everything in the thread that took the signal and raises it again at its manager thread, but only
/// once the source is registered on that thread, a moment after `resume()`; and `dispatch_main` (what
/// an `async` main runs) parks the main thread in `sigsuspend` with nothing blocked. So the program
/// blocks these on its main thread before it starts any other (threads inherit the mask), never parks
/// the main thread in `dispatch_main`, and `ChildSpawn` gives every child an empty mask.
public enum SupervisorSignals {
    /// Stop (SIGTERM, SIGINT), reload (SIGHUP), a worker ended (SIGCHLD).
    public static let handled: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGCHLD]

    /// Whether `blockEverywhere` ran: then no disposition decides anything, and setting SIG_IGN would
    /// only discard a stop that came before the sources were there.
    static let blocked = Atomic<Bool>(false)

    /// Call first in `main`, before any thread exists: the calling thread's mask becomes `handled`
    /// exactly (an exec keeps whatever mask the thread that exec'd had), and the dispositions are reset
    /// (an exec keeps SIG_IGN, and a SIGCHLD ignored would reap the workers before the supervisor could).
    public static func blockEverywhere() {
        var mask = sigset_t()
        sigemptyset(&mask)
        for sig in handled {
            sigaddset(&mask, sig)
            signal(sig, SIG_DFL)
        }
        pthread_sigmask(SIG_SETMASK, &mask, nil)
        blocked.store(true, ordering: .sequentiallyConsistent)
    }

    /// Runs `body` as a task and waits for it on the calling thread, which so stays out of
    /// `dispatch_main`; returns what `body` returns.
    public static func wait(for body: @escaping @Sendable () async -> Int32) -> Int32 {
        let outcome = Outcome()
        Task {
            outcome.status.store(await body(), ordering: .sequentiallyConsistent)
            outcome.done.signal()
        }
        outcome.done.wait()
        return outcome.status.load(ordering: .sequentiallyConsistent)
    }

    private final class Outcome: Sendable {
        let done = DispatchSemaphore(value: 0)
        let status = Atomic<Int32>(0)
    }
}
