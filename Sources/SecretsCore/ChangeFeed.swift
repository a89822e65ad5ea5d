import Synchronization

/// Hands every change event to every subscriber (each `.events` open, the `on_change` runner). A
/// subscriber that falls behind loses its oldest events, counted, and never slows the publisher.
public final class ChangeFeed: Sendable {
    private let subscribers = Mutex<[ObjectIdentifier: ChangeSubscription]>([:])

    public init() {}

    /// A stream of every event published from now on, holding at most `capacity` unread ones.
    public func subscribe(capacity: Int = 1024) -> ChangeSubscription {
        let subscription = ChangeSubscription(capacity: max(1, capacity), feed: self)
        subscribers.withLock { $0[ObjectIdentifier(subscription)] = subscription }
        return subscription
    }

    public func publish(_ events: [ChangeEvent]) {
        guard !events.isEmpty else { return }
        for subscription in subscribers.withLock({ Array($0.values) }) { subscription.deliver(events) }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    fileprivate func remove(_ subscription: ChangeSubscription) {
        _ = subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }
}

/// What a subscriber has not read yet: the events, oldest first, and how many were dropped before them.
public struct ChangeBatch: Sendable, Equatable {
    public var lost: Int
    public var events: [ChangeEvent]

    public var isEmpty: Bool { lost == 0 && events.isEmpty }
}

/// One subscriber's queue. `next()` waits for events (and ends with an empty batch when cancelled or
/// closed); `whenReady` calls back once when there is something to read, for `poll`.
public final class ChangeSubscription: Sendable {
    private struct State {
        var events: [ChangeEvent] = []
        var lost = 0
        var closed = false
        var waiter: CheckedContinuation<ChangeBatch, Never>?
        /// One, not a list: the kernel sends a POLL each time a reader polls, and one notice wakes
        /// every poller of the file, so a poll loop replaces its last callback instead of piling up.
        var readyCallback: (@Sendable () -> Void)?
    }

    private let capacity: Int
    private weak let feed: ChangeFeed?
    private let state = Mutex(State())

    fileprivate init(capacity: Int, feed: ChangeFeed) {
        self.capacity = capacity
        self.feed = feed
    }

    fileprivate func deliver(_ new: [ChangeEvent]) {
        let (waiter, callbacks, batch) = state.withLock {
            state -> (CheckedContinuation<ChangeBatch, Never>?, [@Sendable () -> Void], ChangeBatch?) in
            guard !state.closed else { return (nil, [], nil) }
            state.events.append(contentsOf: new)
            let over = state.events.count - capacity
            if over > 0 {
                state.events.removeFirst(over)
                state.lost += over
            }
            let callbacks = state.readyCallback.map { [$0] } ?? []
            state.readyCallback = nil
            guard let waiter = state.waiter else { return (nil, callbacks, nil) }
            state.waiter = nil
            return (waiter, callbacks, Self.drain(&state))
        }
        if let waiter, let batch { waiter.resume(returning: batch) }
        for callback in callbacks { callback() }
    }

    /// Whatever is unread, at once; empty when nothing is.
    public func take() -> ChangeBatch {
        state.withLock { Self.drain(&$0) }
    }

    /// Whether a `take` would return something, or the stream is over.
    public var isReadable: Bool { state.withLock { !$0.events.isEmpty || $0.lost > 0 || $0.closed } }

    /// Waits until there is something to read. Cancellation or `close` ends the wait with an empty batch.
    public func next() async -> ChangeBatch {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> ChangeBatch? in
                    let batch = Self.drain(&state)
                    if !batch.isEmpty || state.closed || Task.isCancelled { return batch }
                    if let earlier = state.waiter { earlier.resume(returning: ChangeBatch(lost: 0, events: [])) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            wake()
        }
    }

    /// Calls `callback` once, as soon as there is something to read (at once if there is already).
    public func whenReady(_ callback: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if !state.events.isEmpty || state.lost > 0 || state.closed { return true }
            state.readyCallback = callback
            return false
        }
        if now { callback() }
    }

    /// Ends the stream: a waiting `next` returns, the feed forgets it.
    public func close() {
        let callbacks = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            state.events = []
            let callbacks = state.readyCallback.map { [$0] } ?? []
            state.readyCallback = nil
            return callbacks
        }
        wake()
        for callback in callbacks { callback() }
        feed?.remove(self)
    }

    private func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<ChangeBatch, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: ChangeBatch(lost: 0, events: []))
    }

    private static func drain(_ state: inout State) -> ChangeBatch {
        let batch = ChangeBatch(lost: state.lost, events: state.events)
        state.lost = 0
        state.events = []
        return batch
    }
}
