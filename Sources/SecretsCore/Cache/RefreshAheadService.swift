import ServiceLifecycle

/// Runs the cache's refresh-ahead (DESIGN §3: a value read late in its TTL is fetched again before
/// it expires). The cache only queues keys; this service, run by the process's `ServiceGroup`,
/// starts their calls and stops taking them at graceful shutdown. Without it running, reads are
/// answered as before and an entry is fetched again only once it has expired.
///
/// The call itself is the cache's single-flight call for the key: readers that miss meanwhile join
/// it, and it stores its own answer whoever still waits, so it is not a child of this service. A call
/// started before the shutdown ends within the cache's backend deadline.
public struct RefreshAheadService: Service {
    struct Job: Sendable {
        let start: @Sendable () async -> Void
    }

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation

    init() {
        (jobs, continuation) = AsyncStream.makeStream()
    }

    func submit(_ start: @escaping @Sendable () async -> Void) {
        continuation.yield(Job(start: start))
    }

    /// Ends `run` for good: the cache is shutting down.
    func finish() { continuation.finish() }

    /// Starts the queued refreshes one after another until graceful shutdown. Run it once: the
    /// queue has one reader.
    public func run() async {
        for await job in jobs.cancelOnGracefulShutdown() { await job.start() }
    }
}
