import CConcurrencyHook
import NIOCore
import NIOPosix

/// Runs Swift concurrency's global jobs on NIO's singleton event loops, the ones the HTTP clients use,
/// so a backend call does not switch threads between the task that asks and the loop that talks to
/// the server. What `NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`
/// does, which cannot find the runtime's hook in a binary linked with the static Swift runtime.
/// Call once, from the main thread, before any task is started (tests install it later, from a task:
/// the jobs enqueued from then on run on the loops). In a target of its own so the file system's
/// tests can run under it too.
public enum EventLoopExecutor {
    private typealias Hook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    @discardableResult
    public static func install() -> Bool {
        _ = home
        return withUnsafeTemporaryAllocation(of: Hook.self, capacity: 1) { slot in
            slot.baseAddress!.initialize(to: { job, _ in EventLoopExecutor.enqueue(job) })
            return slot.baseAddress!.withMemoryRebound(to: UnsafeMutableRawPointer.self, capacity: 1) {
                secretsfs_install_enqueue_global_hook($0.pointee)
            }
        }
    }

    /// A job started from a loop stays on it; one from any other thread (the FUSE thread) goes to
    /// the first loop, so the backend connections, made from there, live where the work is.
    ///
    /// Run as the generic executor, not as the loop's serial executor (what NIO's
    /// `enqueue(ExecutorJob)` does): under the loop's identity every nonisolated async call was a
    /// switch of executors, a real suspension, and swift-async-algorithms' merge suspended so while
    /// holding its lock; a cancel run by the same loop in that window waited for ever.
    private static func enqueue(_ job: UnownedJob) {
        (MultiThreadedEventLoopGroup.currentEventLoop ?? home).execute {
            job.runSynchronously(on: generic)
        }
    }

    private static let generic = globalConcurrentExecutor.asUnownedTaskExecutor()

    private static let home: any EventLoop = {
        var loops = MultiThreadedEventLoopGroup.singleton.makeIterator()
        return loops.next()!
    }()
}
