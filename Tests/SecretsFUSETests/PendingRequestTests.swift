import Synchronization
import Testing

@testable import SecretsFUSE

#if canImport(Glibc)
    import Glibc
#endif

/// The dispatcher's promises without the kernel: one reply per request, INTERRUPT answers EINTR at
/// once and cancels the work, and shutdown wakes when the last request is answered.
@Suite struct PendingRequestTests {
    final class Sent: Sendable {
        let replies = Mutex<[String]>([])
        func record(_ reply: Reply) {
            let text: String
            switch reply {
            case .error(let errno): text = "errno \(errno)"
            case .ok: text = "ok"
            default: text = "other"
            }
            replies.withLock { $0.append(text) }
        }
        var all: [String] { replies.withLock { $0 } }
    }

    @Test func aRequestIsAnsweredOnce() {
        let sent = Sent()
        let pending = PendingRequest(send: sent.record)
        #expect(pending.reply(.ok))
        #expect(!pending.reply(.error(EIO)))
        #expect(sent.all == ["ok"])
    }

    @Test func anInterruptAnswersEINTRAtOnceAndCancelsTheWork() async {
        let sent = Sent()
        let pending = PendingRequest(send: sent.record)
        let cancelled = Atomic(false)
        let task = Task {
            // A backend call that would take an hour.
            do { try await Task.sleep(for: .seconds(3600)) } catch { cancelled.store(true, ordering: .relaxed) }
            pending.reply(.ok)
        }
        pending.start(task)
        pending.interrupt()
        #expect(sent.all == ["errno \(EINTR)"], "answered before the work ends")
        await task.value
        let wasCancelled = cancelled.load(ordering: .relaxed)
        #expect(wasCancelled)
        #expect(sent.all == ["errno \(EINTR)"], "the work's own answer is dropped")
    }

    @Test func anInterruptDuringRegistrationIsLeftToTheRegistrant() {
        let sent = Sent()
        let pending = PendingRequest(send: sent.record)
        // libfuse calls the callback from inside the registration when the INTERRUPT came first.
        let interrupted = pending.registering { pending.interrupt() }
        #expect(interrupted)
        #expect(sent.all.isEmpty, "no reply from inside libfuse's registration")
        #expect(pending.isInterrupted)
    }

    @Test func aTaskStartedAfterAnInterruptIsCancelled() async {
        let pending = PendingRequest(send: { _ in })
        _ = pending.registering { pending.interrupt() }
        let task = Task { _ = try? await Task.sleep(for: .seconds(3600)) }
        pending.start(task)
        await task.value
        #expect(task.isCancelled)
    }

    @Test func shutdownWakesWhenTheLastRequestIsAnswered() async {
        let inflight = InflightRequests()
        await inflight.waitUntilNone()  // none in flight: returns at once
        inflight.begin()
        inflight.begin()
        #expect(inflight.busy)
        let woke = Atomic(false)
        let waiter = Task {
            await inflight.waitUntilNone()
            woke.store(true, ordering: .relaxed)
        }
        inflight.end()
        try? await Task.sleep(for: .milliseconds(50))
        let wokeEarly = woke.load(ordering: .relaxed)
        #expect(!wokeEarly, "one request is still in flight")
        inflight.end()
        await waiter.value
        let wokeAtLast = woke.load(ordering: .relaxed)
        #expect(wokeAtLast && !inflight.busy)
    }

    @Test func aCancelledWaitReturns() async {
        let inflight = InflightRequests()
        inflight.begin()
        let waiter = Task { await inflight.waitUntilNone() }
        waiter.cancel()
        await waiter.value
        #expect(inflight.busy)
    }
}
