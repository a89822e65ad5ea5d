import AsyncHTTPClient
import Foundation
import NIOCore
import SecretsCore
import Synchronization
import Testing

@testable import SecretsHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// The layer against a scripted exchange on a manual clock: deadlines, backoff and resends are
/// checked by moving the clock, never by sleeping.
@Suite struct HTTPLayerTests {
    /// A scripted server: each exchange takes the next step; the last one repeats.
    final class Script: Sendable {
        enum Step: Sendable {
            case answer(Int, retryAfter: String? = nil)
            case fail(any Error)
            /// Never answers and ignores cancellation, until `release()`.
            case hang
        }

        private let state: Mutex<(steps: [Step], sent: [HTTPRequest], hung: [CheckedContinuation<Void, Never>])>

        init(_ steps: [Step]) { state = Mutex((steps, [], [])) }

        var sent: [HTTPRequest] { state.withLock { $0.sent } }
        var hungCount: Int { state.withLock { $0.hung.count } }

        func release() {
            let hung = state.withLock { state in
                defer { state.hung = [] }
                return state.hung
            }
            for continuation in hung { continuation.resume() }
        }

        func exchange(_ request: HTTPRequest) async throws -> HTTPAnswer {
            let step = state.withLock { state in
                state.sent.append(request)
                return state.steps.count > 1 ? state.steps.removeFirst() : state.steps[0]
            }
            switch step {
            case .answer(let status, let retryAfter):
                return HTTPAnswer(status: status, headerPairs: retryAfter.map { [("Retry-After", $0)] } ?? [], body: [])
            case .fail(let error):
                throw error
            case .hang:
                await withCheckedContinuation { continuation in state.withLock { $0.hung.append(continuation) } }
                return HTTPAnswer(status: 200)
            }
        }
    }

    /// A manual clock that also records every pause asked of it, so a test waits for the backoff it
    /// expects (and checks its length) rather than for any sleeper, such as a call's deadline timer.
    final class RecordingClock: TimeSource {
        let manual = ManualTimeSource()
        private let asked = Mutex<[Duration]>([])

        var pauses: [Duration] { asked.withLock { $0 } }
        func monotonicNow() -> Duration { manual.monotonicNow() }
        func wallNow() -> Date { manual.wallNow() }
        func advance(by duration: Duration) { manual.advance(by: duration) }
        var sleeperCount: Int { manual.sleeperCount }

        func sleep(for duration: Duration) async throws {
            asked.withLock { $0.append(duration) }
            try await manual.sleep(for: duration)
        }

        /// A deadline's timer is not a pause: left to the default, it would sleep through `sleep` above
        /// and be recorded whenever its task got to run, which on a loaded machine is after the pause.
        func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
            manual.schedule(after: duration, action)
        }
    }

    static let get = HTTPRequest(method: .GET, url: "http://127.0.0.1:1/v1/x")
    static let post = HTTPRequest(method: .POST, url: "http://127.0.0.1:1/v1/x", body: [])

    func layer(_ script: Script, clock: any TimeSource, random: Double = 1) -> HTTPLayer {
        HTTPLayer(service: "Test", clock: clock, random: { random }, exchange: { try await script.exchange($0) })
    }

    /// Lets other tasks run until `condition` holds; yields, never sleeps. Bounded by time, not by a
    /// count of yields, which ran out first on a loaded machine; the check after it then fails.
    func until(_ condition: () -> Bool) async {
        let end = ContinuousClock.now + .seconds(60)
        while !condition(), ContinuousClock.now < end { await Task.yield() }
    }

    /// Lets other tasks run for a while, so that what must not happen yet would have happened.
    func letOthersRun() async {
        for _ in 0..<100_000 { await Task.yield() }
    }

    /// Retries 5xx, accepts everything else: what a backend's judge does for reads.
    func retryServerErrors(_ outcome: Result<HTTPAnswer, SecretError>) -> HTTPVerdict {
        guard case .success(let answer) = outcome, answer.status >= 500 else { return .accept }
        return .retry(reason: "answered \(answer.status)", after: answer.retryAfter)
    }

    @Test func theDeadlineEndsACallWithoutWaitingForAHungExchange() async throws {
        let clock = ManualTimeSource()
        let script = Script([.hang])
        let http = layer(script, clock: clock)
        let call = Task { try await http.send(Self.get, deadline: http.deadline(after: .seconds(5))) }
        await until { clock.sleeperCount == 1 && script.hungCount == 1 }
        clock.advance(by: .milliseconds(4999))
        #expect(clock.sleeperCount == 1, "not before the deadline")
        clock.advance(by: .milliseconds(1))
        let result = await call.result
        #expect(script.hungCount == 1, "the exchange still hangs: the call did not wait for it")
        guard case .failure(let failure) = result, let error = failure as? SecretError else {
            Issue.record("a hung exchange answered, or not with a SecretError")
            return
        }
        #expect(error.code == .unavailable)
        #expect(error.message == "timed out")
        script.release()
    }

    @Test func aCallTheCacheBoundsLeavesTheDeadlineToItButAShorterOneGetsItsOwn() async throws {
        let clock = ManualTimeSource()
        let script = Script([.hang])
        let http = layer(script, clock: clock)
        // The cache's race answers the reader at 5 s and cancels the call: a send whose own deadline is
        // no sooner arms no timer of its own.
        let cacheDeadline = clock.monotonicNow() + .seconds(5)
        let bounded = Task {
            try await CallDeadline.$enclosing.withValue(cacheDeadline) {
                try await http.send(Self.get, deadline: http.deadline(after: .seconds(5)))
            }
        }
        await until { script.hungCount == 1 }
        for _ in 0..<100 { await Task.yield() }
        #expect(clock.sleeperCount == 0, "a second timer for the same deadline")
        script.release()
        #expect(try await bounded.value.status == 200)

        // One node's share of the call (a shorter deadline) is raced here: the cache's would come too late.
        let share = Task {
            try await CallDeadline.$enclosing.withValue(cacheDeadline) {
                try await http.send(Self.get, deadline: http.deadline(after: .seconds(1)))
            }
        }
        await until { clock.sleeperCount == 1 && script.hungCount == 1 }
        clock.advance(by: .seconds(1))
        await #expect(throws: SecretError(.unavailable, "timed out")) { try await share.value }
        script.release()
    }

    @Test func aPassedDeadlineSendsNothing() async {
        let clock = ManualTimeSource()
        let script = Script([.answer(200)])
        let http = layer(script, clock: clock)
        let deadline = http.deadline(after: .seconds(1))
        clock.advance(by: .seconds(1))
        await #expect(throws: SecretError(.unavailable, "timed out")) {
            try await http.send(Self.get, deadline: deadline)
        }
        #expect(script.sent.isEmpty)
    }

    @Test func serverErrorsAreRetriedAfterAJitteredBackoff() async throws {
        let clock = RecordingClock()
        let script = Script([.answer(503), .answer(502), .answer(200)])
        let http = layer(script, clock: clock, random: 1)
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        let call = Task {
            try await http.call(
                "GET x", deadline: http.deadline(after: .seconds(10)), policy: policy, changesNothing: true,
                makeRequest: { Self.get }, judge: retryServerErrors)
        }
        // With the random unit at 1 each pause is the whole ceiling: 100 ms, then 200 ms.
        await until { clock.pauses.contains(.milliseconds(100)) && clock.sleeperCount == 1 }
        #expect(script.sent.count == 1)
        clock.advance(by: .milliseconds(99))
        await letOthersRun()
        #expect(script.sent.count == 1, "no second attempt before the backoff ends")
        clock.advance(by: .milliseconds(1))
        await until { clock.pauses.contains(.milliseconds(200)) && clock.sleeperCount == 1 }
        #expect(script.sent.count == 2)
        clock.advance(by: .milliseconds(200))
        let outcome = try await call.value
        #expect(script.sent.count == 3)
        #expect(try outcome.get().status == 200)
    }

    @Test func retryAfterIsHonoured() async throws {
        let clock = RecordingClock()
        let script = Script([.answer(503, retryAfter: "3"), .answer(200)])
        let http = layer(script, clock: clock)
        let call = Task {
            try await http.call(
                "GET x", deadline: http.deadline(after: .seconds(10)), policy: RetryPolicy(), changesNothing: true,
                makeRequest: { Self.get }, judge: retryServerErrors)
        }
        await until { clock.pauses.contains(.seconds(3)) && clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(2999))
        await letOthersRun()
        #expect(script.sent.count == 1, "the server said three seconds")
        clock.advance(by: .milliseconds(1))
        #expect(try await call.value.get().status == 200)
    }

    @Test func givesUpWhenAttemptsRunOutOrThePauseWouldPassTheDeadline() async throws {
        let clock = RecordingClock()
        let script = Script([.answer(500)])
        let http = layer(script, clock: clock, random: 0)
        let policy = RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(400), maxDelay: .seconds(2))
        let call = Task {
            try await http.call(
                "GET x", deadline: http.deadline(after: .seconds(10)), policy: policy, changesNothing: true,
                makeRequest: { Self.get }, judge: retryServerErrors)
        }
        // The random unit at 0: a quarter of the 400 ms ceiling.
        await until { clock.pauses.contains(.milliseconds(100)) && clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(100))
        guard case .failure(let gaveUp) = try await call.value else {
            Issue.record("a 500 every time was accepted")
            return
        }
        #expect(gaveUp.attempts == 2)
        #expect(gaveUp.reason == "answered 500")
        #expect(try gaveUp.last.get().status == 500)

        // A Retry-After beyond the deadline is not waited for at all.
        let late = Script([.answer(503, retryAfter: "60")])
        let lateLayer = layer(late, clock: clock)
        let outcome = try await lateLayer.call(
            "GET x", deadline: lateLayer.deadline(after: .seconds(5)), policy: RetryPolicy(), changesNothing: true,
            makeRequest: { Self.get }, judge: retryServerErrors)
        guard case .failure(let lateGaveUp) = outcome else {
            Issue.record("a 503 was accepted")
            return
        }
        #expect(lateGaveUp.attempts == 1)
        #expect(late.sent.count == 1)
    }

    @Test func aWaitUsesNoAttemptAndEndsOnlyAtTheDeadline() async throws {
        // Four 307s (a cluster electing) with a policy of one attempt: each wait pauses, grows, and
        // the fifth answer is the call's. Then, with the deadline near, the wait is given up on.
        let clock = RecordingClock()
        let script = Script([.answer(307), .answer(307), .answer(307), .answer(307), .answer(200)])
        let http = layer(script, clock: clock, random: 1)
        let policy = RetryPolicy(maxAttempts: 1, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        let judge: @Sendable (Result<HTTPAnswer, SecretError>) -> HTTPVerdict = { outcome in
            guard case .success(let answer) = outcome, answer.status == 307 else { return .accept }
            return .wait(reason: "redirected")
        }
        let call = Task {
            try await http.call(
                "POST x", deadline: http.deadline(after: .seconds(5)), policy: policy, changesNothing: false,
                makeRequest: { Self.post }, judge: judge)
        }
        for (index, pause) in [100, 200, 400, 800].enumerated() {
            await until { clock.pauses.count == index + 1 && clock.sleeperCount == 1 }
            #expect(clock.pauses.last == .milliseconds(pause))
            clock.advance(by: .milliseconds(pause))
        }
        #expect(try await call.value.get().status == 200)
        #expect(script.sent.count == 5)
        #expect(clock.pauses == [100, 200, 400, 800].map { .milliseconds($0) }, "the pauses, and only they")

        let electing = Script([.answer(307)])
        let short = layer(electing, clock: clock, random: 1)
        let outcome = try await short.call(
            "POST x", deadline: short.deadline(after: .milliseconds(50)), policy: policy, changesNothing: false,
            makeRequest: { Self.post }, judge: judge)
        guard case .failure(let gaveUp) = outcome else {
            Issue.record("a 307 was accepted")
            return
        }
        #expect(try gaveUp.last.get().status == 307)
        #expect(gaveUp.reason == "redirected")
        #expect(electing.sent.count == 1, "a pause past the deadline is not taken")
    }

    @Test func anAttemptTimeoutLeavesTheRestOfTheDeadlineForTheNextAttempt() async throws {
        // The first server hangs: its attempt ends at 2 s, and the second answers within the 5 s.
        let clock = ManualTimeSource()
        let script = Script([.hang, .answer(200)])
        let http = layer(script, clock: clock)
        let call = Task {
            try await http.call(
                "GET x", deadline: http.deadline(after: .seconds(5)), attemptTimeout: .seconds(2),
                policy: RetryPolicy(maxAttempts: 1), changesNothing: true, makeRequest: { Self.get },
                judge: { outcome in
                    if case .failure(let error) = outcome, error.message == "timed out" { return .resend }
                    return .accept
                })
        }
        await until { clock.sleeperCount == 1 && script.hungCount == 1 }
        clock.advance(by: .seconds(2))
        #expect(try await call.value.get().status == 200)
        #expect(script.sent.count == 2)
        script.release()
    }

    @Test func aLastAttemptCutByTheDeadlineKeepsTheEarlierReason() async throws {
        // A refused connection, then an attempt the deadline ends: "timed out" alone hid the refusal.
        let clock = RecordingClock()
        let script = Script([.fail(IOError(errnoCode: ECONNREFUSED, reason: "connect")), .hang])
        let http = layer(script, clock: clock, random: 0)
        let policy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(400), maxDelay: .seconds(2))
        let call = Task {
            try await http.call(
                "GET x", deadline: http.deadline(after: .seconds(5)), policy: policy, changesNothing: true,
                makeRequest: { Self.get },
                judge: { outcome in
                    guard case .failure(let error) = outcome else { return .accept }
                    return .retry(reason: error.message, after: nil)
                })
        }
        await until { clock.pauses.contains(.milliseconds(100)) && clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(100))
        await until { script.hungCount == 1 && clock.sleeperCount == 1 }
        clock.advance(by: .seconds(5))
        guard case .failure(let gaveUp) = try await call.value else {
            Issue.record("a hung exchange was accepted")
            return
        }
        #expect(gaveUp.attempts == 2)
        #expect(gaveUp.reason == "connection failed (refused), then timed out")
        script.release()
    }

    @Test func aRequestThatNeverGotAConnectionWaitsAgainWithinTheDeadline() async throws {
        let clock = ManualTimeSource()
        let script = Script([
            .fail(HTTPClientError.getConnectionFromPoolTimeout), .fail(HTTPClientError.getConnectionFromPoolTimeout),
            .answer(200),
        ])
        let http = layer(script, clock: clock)
        // Never sent, so even a POST goes again, without an attempt or a backoff.
        let outcome = try await http.call(
            "POST x", deadline: http.deadline(after: .seconds(5)), policy: RetryPolicy(maxAttempts: 1),
            changesNothing: false, makeRequest: { Self.post }, judge: { _ in .accept })
        #expect(try outcome.get().status == 200)
        #expect(script.sent.count == 3)
        #expect(clock.sleeperCount == 0)
    }

    @Test func aDroppedConnectionIsResentAtOnceForReadsOnly() async throws {
        let clock = ManualTimeSource()
        let dropped: [Script.Step] = [
            .fail(HTTPClientError.remoteConnectionClosed), .fail(IOError(errnoCode: ECONNRESET, reason: "read")),
            .answer(200),
        ]
        let script = Script(dropped)
        let http = layer(script, clock: clock)
        let judged = Mutex(0)
        let outcome = try await http.call(
            "GET x", deadline: http.deadline(after: .seconds(5)), policy: RetryPolicy(maxAttempts: 1),
            changesNothing: false, makeRequest: { Self.get }
        ) { outcome in
            judged.withLock { $0 += 1 }
            return .accept
        }
        #expect(try outcome.get().status == 200, "a GET goes again at once, without backoff or attempt")
        #expect(script.sent.count == 3)
        #expect(judged.withLock { $0 } == 1, "only the outcome of the resend is judged")
        #expect(clock.sleeperCount == 0)

        // A POST that changes something is not sent twice: the backend hears of the failure.
        let once = Script(dropped)
        let onceLayer = layer(once, clock: clock)
        await #expect(throws: SecretError.self) {
            try await onceLayer.call(
                "POST x", deadline: onceLayer.deadline(after: .seconds(5)), policy: RetryPolicy(maxAttempts: 1),
                changesNothing: false, makeRequest: { Self.post }, judge: { _ in .accept })
        }
        #expect(once.sent.count == 1)

        // Unless the backend says it changes nothing.
        let idempotent = Script(dropped)
        let idempotentLayer = layer(idempotent, clock: clock)
        let resent = try await idempotentLayer.call(
            "POST x", deadline: idempotentLayer.deadline(after: .seconds(5)), policy: RetryPolicy(maxAttempts: 1),
            changesNothing: true, makeRequest: { Self.post }, judge: { _ in .accept })
        #expect(try resent.get().status == 200)
    }

    @Test func resendIsFreeAndTheBackendDecidesHowOften() async throws {
        let clock = ManualTimeSource()
        let script = Script([.answer(400)])
        let http = layer(script, clock: clock)
        let resends = Mutex(0)
        let outcome = try await http.call(
            "POST x", deadline: http.deadline(after: .seconds(5)), policy: RetryPolicy(maxAttempts: 1),
            changesNothing: false, makeRequest: { Self.post }
        ) { _ in
            resends.withLock { count in
                count += 1
                return count <= 2 ? .resend : .accept
            }
        }
        #expect(try outcome.get().status == 400)
        #expect(script.sent.count == 3)
    }

    @Test func transportFailuresAreClassifiedAndKeepTheirCause() async throws {
        let clock = ManualTimeSource()
        let cases: [(any Error, SecretError.Code, String)] = [
            (IOError(errnoCode: ECONNREFUSED, reason: "connect"), .unavailable, "connection failed (refused)"),
            (HTTPClientError.connectTimeout, .unavailable, "timed out"),
            (HTTPClientError.remoteConnectionClosed, .unavailable, "connection closed"),
            (ChannelError.ioOnClosedChannel, .unavailable, "connection closed"),
            (NIOTooManyBytesError(maxBytes: 1), .malformedResponse, "answer larger than 33554432 bytes"),
            (CancellationError(), .unavailable, "cancelled"),
        ]
        for (failure, code, message) in cases {
            let http = layer(Script([.fail(failure)]), clock: clock)
            do {
                _ = try await http.send(Self.post, deadline: http.deadline(after: .seconds(1)))
                Issue.record("\(failure) did not throw")
            } catch {
                #expect(error.code == code, "\(failure)")
                #expect(error.message == message, "\(failure)")
                #expect(error.cause.map { type(of: $0) == type(of: failure) } == true, "the cause is kept")
                #expect(error.description == message, "the cause is never printed")
            }
        }
    }

    @Test func backoffStaysBetweenAQuarterOfAndTheWholeCeiling() {
        let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        #expect(policy.delay(afterAttempt: 1, unit: 0) == .milliseconds(25))
        #expect(policy.delay(afterAttempt: 1, unit: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3, unit: 1) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 10, unit: 1) == .seconds(2), "capped at maxDelay")
        #expect(policy.delay(afterAttempt: 10, unit: 0) == .milliseconds(500))
    }

    @Test func retryAfterReadsSecondsOnly() {
        #expect(HTTPAnswer(status: 429, headerPairs: [("Retry-After", "7")], body: []).retryAfter == .seconds(7))
        #expect(
            HTTPAnswer(status: 429, headerPairs: [("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")], body: [])
                .retryAfter == nil)
        #expect(HTTPAnswer(status: 429, headerPairs: [("Retry-After", "-1")], body: []).retryAfter == nil)
        #expect(HTTPAnswer(status: 429).retryAfter == nil)
    }
}
