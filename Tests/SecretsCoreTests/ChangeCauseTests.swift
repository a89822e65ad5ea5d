import SecretsCore
import Synchronization
import Testing

/// Why the cache says a value changed, as `.events` and `on_change` see it (issue 14 §2).
@Suite struct ChangeCauseTests {
    func change(_ log: ChangeLog) -> (ChangeCause, String?, String?)? {
        log.ofValues.last.map { ($0.cause, $0.oldVersion, $0.newVersion) }
    }

    @Test func aReaderFindingANewVersionAfterTheTTLIsAnOutsideChange() async throws {
        let f = CacheFixture(refreshAhead: false)
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.set(path("a"), "two")
        f.clock.advance(by: .seconds(100))
        _ = try await f.read("a")
        #expect(log.ofValues.count == 1)
        let (cause, old, new) = try #require(change(log))
        #expect(cause == .outside && old == "1" && new == "2")
    }

    @Test func aRotationNamesItsFieldAndBothVersions() async throws {
        let f = CacheFixture()
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        let result = try await f.cache.rotate(RotationRequest(path: path("a")) { SecretValue(string: "x") })
        // One change of the value, however many keys (versions, listings) the rotation drops.
        #expect(log.ofValues.count == 1)
        let last = try #require(log.ofValues.last)
        #expect(last.cause == .rotation)
        #expect(last.oldVersion == result.oldVersion && last.newVersion == result.newVersion)
    }

    @Test func servingStaleThenRecoveringAreBothReportedOnce() async throws {
        let f = CacheFixture(refreshAhead: false)
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.fail(with: .unavailable)
        f.clock.advance(by: .seconds(100))
        #expect(try await f.read("a") == "one")
        f.clock.advance(by: .seconds(100))
        #expect(try await f.read("a") == "one")
        #expect(log.ofValues.map(\.cause) == [.stale], "stale is told once, not on every stale read")
        let stale = try #require(log.ofValues.first)
        #expect(stale.oldVersion == "1" && stale.newVersion == "1")
        #expect(!stale.dropsKernelCaches, "a stale value is still the same value")
        f.upstream.fail(with: nil)
        #expect(try await f.read("a") == "one")
        #expect(log.ofValues.map(\.cause) == [.stale, .recovered], "fresh again even though the value is the same")
    }

    @Test func aSecretGoneAtTheStoreIsDeleted() async throws {
        let f = CacheFixture(refreshAhead: false)
        let log = ChangeLog()
        await f.cache.onChange { log.record($0) }
        f.upstream.set(path("a"), "one")
        _ = try await f.read("a")
        f.upstream.remove(path("a"))
        f.clock.advance(by: .seconds(100))
        #expect(await f.failure("a") == .notFound)
        let (cause, old, new) = try #require(change(log))
        #expect(cause == .deleted && old == "1" && new == nil)
    }
}

/// The feed behind `.events`: every subscriber sees every event from its subscription on, a slow one
/// loses the oldest with a count, and a waiting reader ends when cancelled or closed.
@Suite struct ChangeFeedTests {
    func event(_ name: String) -> ChangeEvent {
        ChangeEvent(
            time: .init(timeIntervalSince1970: 0), path: path(name), oldVersion: "1", newVersion: "2",
            cause: .rotation)
    }

    @Test func eachSubscriberSeesWhatCameAfterItSubscribed() async {
        let feed = ChangeFeed()
        let early = feed.subscribe()
        feed.publish([event("a")])
        let late = feed.subscribe()
        feed.publish([event("b")])
        #expect(early.take().events.map(\.path.string) == ["a", "b"])
        #expect(late.take().events.map(\.path.string) == ["b"])
        #expect(late.take().isEmpty)
    }

    @Test func aSlowSubscriberLosesTheOldestAndIsToldHowMany() {
        let feed = ChangeFeed()
        let slow = feed.subscribe(capacity: 3)
        feed.publish((1...5).map { event("s\($0)") })
        let batch = slow.take()
        #expect(batch.lost == 2)
        #expect(batch.events.map(\.path.string) == ["s3", "s4", "s5"])
    }

    @Test func aWaitingReaderWakesOnAnEventAndOnCancel() async {
        let feed = ChangeFeed()
        let subscription = feed.subscribe()
        let waiting = Task { await subscription.next() }
        #expect(await eventually { subscription.isReadable == false })
        feed.publish([event("x")])
        #expect(await waiting.value.events.map(\.path.string) == ["x"])
        let cancelled = Task { await subscription.next() }
        cancelled.cancel()
        #expect(await cancelled.value.isEmpty)
    }

    @Test func closingEndsTheWaitCallsPollersAndLeavesTheFeed() async {
        let feed = ChangeFeed()
        let subscription = feed.subscribe()
        let waiting = Task { await subscription.next() }
        let polled = Counter()
        subscription.whenReady { polled.add() }
        #expect(feed.subscriberCount == 1)
        subscription.close()
        #expect(await waiting.value.isEmpty)
        #expect(polled.value == 1)
        #expect(feed.subscriberCount == 0)
    }

    @Test func aPollerIsCalledOnceWhenSomethingArrives() {
        let feed = ChangeFeed()
        let subscription = feed.subscribe()
        let polled = Counter()
        subscription.whenReady { polled.add() }
        #expect(polled.value == 0)
        feed.publish([event("a")])
        feed.publish([event("b")])
        #expect(polled.value == 1)
        // Something waits already: called at once.
        subscription.whenReady { polled.add() }
        #expect(polled.value == 2)
    }

    /// A reader polling in a loop sends a POLL each time: the callbacks it leaves must not pile up
    /// (issue 24: 8 descriptors polled every 1 ms grew the worker by 20 MiB). The one kept is the last.
    @Test func aPollLoopKeepsOneCallback() {
        let feed = ChangeFeed()
        let subscription = feed.subscribe()
        let released = Counter()
        let polled = Counter()
        for _ in 0..<1000 {
            let token = ReleaseProbe(released)
            subscription.whenReady {
                _ = token; polled.add()
            }
        }
        #expect(released.value == 999)
        feed.publish([event("a")])
        #expect(polled.value == 1)
        #expect(released.value == 1000)
    }
}

/// Counts its own release, to show a callback holding it was let go.
private final class ReleaseProbe: Sendable {
    let counter: Counter
    init(_ counter: Counter) { self.counter = counter }
    deinit { counter.add() }
}

/// Counts calls from any thread.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}
