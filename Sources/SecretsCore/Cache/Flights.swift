/// What a lookup finds on its store's actor: the answer, or the call that will give it, which the reader
/// waits for off the actor (the call's answer reaches the actor by itself).
enum Lookup: Sendable {
    case answer(CacheAnswer<MirroredEntry.Payload>)
    case call(Race<MirroredEntry.Payload>)
}

/// The upstream calls of one cache: at most one running call per key, which every reader that misses
/// meanwhile joins; the breaker that refuses calls while the backend keeps failing; and the deadline
/// each call is raced against. Every call the cache makes, a miss, a refresh, a write or a health
/// check, starts here, so the deadline is enforced in this one place (the HTTP layer below leaves
/// it to this one, see `CallDeadline`).
struct Flights {
    typealias Payload = MirroredEntry.Payload

    let timeout: Duration
    let clock: any TimeSource
    var breaker: CircuitBreaker
    private(set) var running: [CacheKey: Race<Payload>] = [:]
    /// Keys whose running call has outlasted the stale grace once: their readers get the stale value at once.
    private var slow: Set<CacheKey> = []

    static let circuitOpen = SecretError(.unavailable, "backend circuit open after repeated failures")

    init(policy: CachePolicy, clock: any TimeSource) {
        self.timeout = policy.backendTimeout
        self.clock = clock
        self.breaker = CircuitBreaker(
            threshold: policy.breakerThreshold, cooldown: policy.breakerCooldown, firstProbe: policy.breakerFirstProbe)
    }

    var breakerState: BreakerState { breaker.state(at: clock.monotonicNow()) }
    var isOpen: Bool { breakerState == .open }

    /// Whether a call may go to the backend now (in half-open state, the one probe); a refusal is
    /// counted in `stats`.
    mutating func admit(_ stats: inout CacheStatistics) -> Bool {
        guard breaker.allow(at: clock.monotonicNow()) else {
            stats.breakerRejections += 1
            return false
        }
        return true
    }

    /// The call running for `key`, or a new one: `settle` is handed the first of the call's answer and
    /// its deadline's (`start`), and must store it and finish the race. Refused while the breaker is open.
    mutating func join(
        _ key: CacheKey, stats: inout CacheStatistics, fetch: @escaping @Sendable () async throws -> Payload,
        settle: @escaping @Sendable (Race<Payload>, Result<Payload, SecretError>) async -> Void
    ) -> Race<Payload> {
        if let race = running[key] { return race }
        guard admit(&stats) else { return Race(finished: .failure(Self.circuitOpen)) }
        stats.backendCalls += 1
        let race = Race<Payload>()
        let timeout = self.timeout
        start(race, fetch, late: { throw Self.tooLate(timeout) }) { await settle(race, $0) }
        running[key] = race
        return race
    }

    func isRunning(_ key: CacheKey) -> Bool { running[key] != nil }
    func isSlow(_ key: CacheKey) -> Bool { slow.contains(key) }

    mutating func markSlow(_ key: CacheKey) {
        if running[key] != nil { slow.insert(key) }
    }

    /// The call for `key` has answered: later readers start a new one.
    mutating func landed(_ key: CacheKey) {
        running[key] = nil
        slow.remove(key)
    }

    /// One call that no reader joins (a write, a rotation): raced against the deadline like a miss,
    /// and its failure traced like one (by the caller, in `record`).
    func call<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = self.timeout
        return try await answer(body) { throw Self.tooLate(timeout) }
    }

    static func tooLate(_ timeout: Duration) -> SecretError {
        SecretError(.unavailable, "backend call took longer than \(timeout.seconds)s")
    }

    /// `body`'s answer, or `late`'s once the deadline has passed; cancelling the caller gives up on it.
    func answer<T: Sendable>(
        _ body: @escaping @Sendable () async throws -> T, late: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let race = Race<T>()
        start(race, body, late: late) { race.finish($0.mapError { $0 as any Error }) }
        return try await withTaskCancellationHandler {
            try await race.value
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// The call, which knows its deadline (`CallDeadline`), raced against that deadline
    /// (`Race.run`): so the call completes even when no reader waits any more, and a call that
    /// ignores its cancellation cannot hold a reader past the deadline.
    private func start<T: Sendable>(
        _ race: Race<T>, _ body: @escaping @Sendable () async throws -> T,
        late: @escaping @Sendable () throws -> T,
        settle: @escaping @Sendable (Result<T, SecretError>) async -> Void
    ) {
        let deadline = clock.monotonicNow() + timeout
        race.run(
            { try await CallDeadline.$enclosing.withValue(deadline) { try await body() } }, orAfter: timeout,
            on: clock, detached: true, late: late
        ) { await settle($0.mapError { SecretError.from($0) }) }
    }
}
