import AsyncHTTPClient
import Logging
import NIOCore
import SecretsCore

/// What a backend says about one outcome of an attempt (an answer, or a `SecretError` from below HTTP).
public enum HTTPVerdict: Sendable {
    /// This is the call's outcome: the answer is returned, the failure thrown.
    case accept
    /// Transient: pause (`after`, when the server said how long; else the policy's backoff) and try
    /// again while attempts and the deadline allow. `reason` ends up in the final error; the debug line
    /// reads "<service> <phrase>; retrying".
    case retry(reason: String, after: Duration? = nil, phrase: String = "call failed")
    /// Send again at once without using an attempt (fresh credentials were fetched). The backend
    /// decides how often; the deadline still bounds it.
    case resend
    /// Not yet, but soon (a cluster electing a leader): pause as `.retry` would (`after`, else the
    /// policy's growing backoff) and send again without using an attempt, until the deadline would
    /// pass; then the outcome is given up on as after the last attempt.
    case wait(reason: String, after: Duration? = nil)
}

/// How a call ended when it did not end in an accepted outcome.
public struct HTTPGaveUp: Error, Sendable {
    /// The last outcome, which the backend had asked to retry.
    public var last: Result<HTTPAnswer, SecretError>
    public var attempts: Int
    public var reason: String
}

/// The one HTTP layer of the backends: a call's deadline (enforced here, once, without waiting for a
/// request that ignores it), retries with backoff and jitter, immediate resends of reads whose pooled
/// connection was dropped, and the classification of transport failures. Backends keep their request
/// shapes and their status mapping. The clock and the randomness are injected, so tests do not sleep.
public final class HTTPLayer: Sendable {
    /// One exchange on the wire: the layer's only contact with the network, replaced in tests.
    public typealias Exchange = @Sendable (HTTPRequest) async throws -> HTTPAnswer

    /// What a call cut short by its deadline says.
    static let timedOut = "timed out"

    /// Immediate resends of a read whose pooled connection was dropped; more than one, since a pool can
    /// hold several connections a balancer dropped at the same time.
    public static let droppedConnectionResends = 3

    /// Names the backend in log lines ("Vault", "AWS").
    public let service: String
    public let clock: any TimeSource
    let random: @Sendable () -> Double
    let logger: Logger
    private let exchange: Exchange
    private let client: HTTPClient?

    /// A layer over a real client from `HTTPClientSetup`; `shutdown()` releases it.
    public convenience init(
        service: String, client: HTTPClient, clock: any TimeSource = SystemTimeSource(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }, logger: Logger
    ) {
        self.init(
            service: service, clock: clock, random: random, logger: logger, client: client,
            exchange: { request in try await Self.perform(request, on: client) })
    }

    /// A layer over any exchange (tests).
    public convenience init(
        service: String, clock: any TimeSource, random: @escaping @Sendable () -> Double = { 0.5 },
        logger: Logger = Logger(label: "secretsfs.http"), exchange: @escaping Exchange
    ) {
        self.init(service: service, clock: clock, random: random, logger: logger, client: nil, exchange: exchange)
    }

    private init(
        service: String, clock: any TimeSource, random: @escaping @Sendable () -> Double, logger: Logger,
        client: HTTPClient?, exchange: @escaping Exchange
    ) {
        self.service = service
        self.clock = clock
        self.random = random
        self.logger = logger
        self.client = client
        self.exchange = exchange
    }

    /// The deadline of a call that starts now and may take `timeout`, on the layer's clock.
    public func deadline(after timeout: Duration) -> Duration {
        clock.monotonicNow() + timeout
    }

    /// One exchange, bounded by `deadline`. Transport failures throw `SecretError` (`.unavailable`, or
    /// `.malformedResponse` for too large an answer) with a message that is only the reason; every HTTP
    /// status is returned.
    public func send(_ request: HTTPRequest, deadline: Duration) async throws(SecretError) -> HTTPAnswer {
        let remaining = deadline - clock.monotonicNow()
        guard remaining > .zero else { throw SecretError(.unavailable, Self.timedOut) }
        let exchange = self.exchange
        do {
            // A call the cache bounds (`CallDeadline`) is answered and cancelled by the cache's race
            // by then, and the cancellation reaches the request: a race here too would only arm a
            // second timer and start two more tasks per call. A shorter deadline (one node's share
            // of a call, a probe) still gets its own.
            if let enclosing = CallDeadline.enclosing, enclosing <= deadline {
                return try await exchange(request)
            }
            return try await firstOf({ try await exchange(request) }, orAfter: remaining, on: clock) {
                throw SecretError(.unavailable, Self.timedOut)
            }
        } catch {
            throw TransportErrors.classify(error)
        }
    }

    /// One logical call: attempts until `judge` accepts an outcome, attempts run out or the deadline
    /// would pass. `makeRequest` runs before every attempt. A request lost with a dropped connection is
    /// sent again at once, without an attempt or a backoff, when `changesNothing` (or it is a GET):
    /// that says nothing about the server, so only the outcome of the resend reaches the caller (and
    /// its circuit breaker).
    ///
    /// Returns the accepted answer, or `.gaveUp` with the last outcome when retries ran out.
    /// An accepted transport failure, and whatever `makeRequest` or `judge` throw, are thrown.
    ///
    /// `attemptTimeout` bounds each attempt on its own as well (a client with other servers to try
    /// when one accepts and never answers); the call's deadline still bounds them all.
    public func call(
        _ name: String,
        deadline: Duration,
        attemptTimeout: Duration? = nil,
        policy: RetryPolicy,
        changesNothing: Bool,
        makeRequest: () async throws -> HTTPRequest,
        judge: (Result<HTTPAnswer, SecretError>) async throws -> HTTPVerdict
    ) async throws -> Result<HTTPAnswer, HTTPGaveUp> {
        var attempt = 0
        var waits = 0
        var droppedResends = 0
        // A last attempt cut short by the deadline says only "timed out"; an earlier one may say why
        // (a refused connection is retried inside the client until its connect timeout).
        var earlierReason: String?
        while true {
            attempt += 1
            let request = try await makeRequest()
            let outcome: Result<HTTPAnswer, SecretError>
            do throws(SecretError) {
                let attemptDeadline = attemptTimeout.map { min(deadline, clock.monotonicNow() + $0) } ?? deadline
                outcome = .success(try await send(request, deadline: attemptDeadline))
            } catch {
                // Misses of different secrets are sent side by side, more at once than the pool keeps
                // connections to a slow server: the client gives a request up after waiting its connect
                // timeout for one. It was never sent, so it waits again, bounded by the call's deadline.
                if let cause = error.cause, TransportErrors.isUnsentForWantOfAConnection(cause),
                    clock.monotonicNow() < deadline
                {
                    attempt -= 1
                    continue
                }
                if changesNothing || request.method == .GET, droppedResends < Self.droppedConnectionResends,
                    let cause = error.cause, TransportErrors.isDroppedConnection(cause),
                    clock.monotonicNow() < deadline
                {
                    droppedResends += 1
                    attempt -= 1
                    logger.debug(
                        "\(service) connection closed before an answer; sending again", metadata: ["call": "\(name)"])
                    continue
                }
                outcome = .failure(error)
            }
            switch try await judge(outcome) {
            case .accept:
                return .success(try outcome.get())
            case .resend:
                attempt -= 1
                continue
            case .wait(let reason, let after):
                waits += 1
                let pause = after ?? policy.delay(afterAttempt: waits, unit: random())
                guard clock.monotonicNow() + pause < deadline else {
                    return .failure(HTTPGaveUp(last: outcome, attempts: attempt, reason: reason))
                }
                logger.debug(
                    "\(service) \(reason); waiting", metadata: ["call": "\(name)", "wait": "\(waits)"])
                do {
                    try await clock.sleep(for: pause)
                } catch {
                    throw SecretError(.unavailable, "\(service) call cancelled", cause: error)
                }
                attempt -= 1
                continue
            case .retry(let reason, let after, let phrase):
                let pause = after ?? policy.delay(afterAttempt: attempt, unit: random())
                guard attempt < policy.maxAttempts, clock.monotonicNow() + pause < deadline else {
                    let told = reason == Self.timedOut ? earlierReason.map { "\($0), then \(reason)" } : nil
                    return .failure(HTTPGaveUp(last: outcome, attempts: attempt, reason: told ?? reason))
                }
                if reason != Self.timedOut { earlierReason = reason }
                logger.debug(
                    "\(service) \(phrase); retrying",
                    metadata: ["call": "\(name)", "attempt": "\(attempt)", "reason": "\(reason)"])
                do {
                    try await clock.sleep(for: pause)
                } catch {
                    throw SecretError(.unavailable, "\(service) call cancelled", cause: error)
                }
            }
        }
    }

    /// Whether `error` (thrown by `send` or `call`) left the request unsent, so that a call that changes
    /// something may go to another server without being made twice.
    public static func neverReachedServer(_ error: SecretError) -> Bool {
        error.cause.map(TransportErrors.neverReachedServer) ?? false
    }

    /// Releases the client's connections. The layer is not used afterwards.
    public func shutdown() async {
        guard let client else { return }
        do {
            try await client.shutdown()
        } catch {
            logger.debug("\(service) HTTP client shut down with \(type(of: error))")
        }
    }

    private static func perform(_ request: HTTPRequest, on client: HTTPClient) async throws -> HTTPAnswer {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        // No deadline of the client's own: `send` enforces the call's, and cancels this when it passes.
        let response = try await client.execute(outgoing, deadline: .distantFuture, logger: nil)
        let buffer = try await response.body.collect(upTo: HTTPClientSetup.maxBodyBytes)
        return HTTPAnswer(
            status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }
}
