/// The refresh-ahead a late read asks for (DESIGN §3: a value read late in its TTL is fetched again
/// before it expires). The cache only queues keys; `FreshnessService` starts their calls one after
/// another and stops taking them at graceful shutdown. Without it running, reads are answered as
/// before and an entry is fetched again only once it has expired.
///
/// The call itself is the cache's single-flight call for the key: readers that miss meanwhile join
/// it, and it stores its own answer whoever still waits. A call started before the shutdown ends
/// within the cache's backend deadline.
import ServiceLifecycle

struct ReadAheadQueue: Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation

    init() {
        (jobs, continuation) = AsyncStream.makeStream()
    }

    func submit(_ start: @escaping @Sendable () async -> Void) {
        continuation.yield(start)
    }

    /// Ends `run` for good: the cache is shutting down.
    func finish() { continuation.finish() }

    /// Starts the queued refreshes one after another until graceful shutdown, cancellation or
    /// `finish`. Run once: the queue has one reader.
    func run() async {
        for await start in jobs.cancelOnGracefulShutdown() { await start() }
    }
}
