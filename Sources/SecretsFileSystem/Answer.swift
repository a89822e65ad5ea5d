/// What every operation returns, as go-fuse's do: the answer now, when memory alone decides it, or
/// the work that finds it later. The FUSE layer replies to `now` on its own thread and runs `later`
/// as a task, so a request that needs no backend never waits for a thread, and the choice is made
/// once, here, by the operation that knows.
public enum Answer<Value: Sendable>: Sendable {
    case now(Result<Value, any Error>)
    case later(@Sendable () async throws -> Value)
    /// Later, and with no bound on when: a read of `.events` waits for the next change. The FUSE
    /// layer counts it among no requests in flight, so neither a worker's drain nor its loop waits
    /// for it; the operation says so, as only it knows.
    case waiting(@Sendable () async throws -> Value)

    /// Runs `body` at once: what it returns or throws is the answer now.
    static func immediately(_ body: () throws -> Value) -> Answer {
        .now(Result(catching: body))
    }

    /// The answer, waiting for it if it comes later.
    public var value: Value {
        get async throws {
            switch self {
            case .now(let result): return try result.get()
            case .later(let work), .waiting(let work): return try await work()
            }
        }
    }

    /// The answer when it needs no waiting; nil when it comes later.
    public var immediate: Result<Value, any Error>? {
        if case .now(let result) = self { return result }
        return nil
    }
}
