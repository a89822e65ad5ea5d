import Foundation
import SecretsCore
import Synchronization

/// One open of `.events`: the change events since it was opened, as whole JSON lines. Names and
/// versions only, never a value.
final class EventStream: Sendable {
    private let subscription: ChangeSubscription
    /// Lines made but not yet read: a read smaller than the lines waiting takes what fits.
    private let unread = Mutex<[UInt8]>([])
    /// Whether the reader who opened the stream may see an event: the judge's answer for its name.
    private let shows: @Sendable (ChangeEvent) -> Bool

    init(_ subscription: ChangeSubscription, shows: @escaping @Sendable (ChangeEvent) -> Bool = { _ in true }) {
        self.subscription = subscription
        self.shows = shows
    }

    /// Up to `size` bytes of whole lines (or the start of one longer than `size`); empty when none wait.
    func read(upTo size: Int) -> [UInt8] {
        unread.withLock { unread in
            let batch = subscription.take()
            if !batch.isEmpty { unread += lines(batch) }
            guard !unread.isEmpty else { return [] }
            var end = min(size, unread.count)
            if end < unread.count, let lastNewline = unread[..<end].lastIndex(of: UInt8(ascii: "\n")) {
                end = lastNewline + 1
            }
            defer { unread.removeFirst(end) }
            return Array(unread[..<end])
        }
    }

    /// Waits for at least one line, then reads as `read(upTo:)`. Throws when the wait is cancelled
    /// (an interrupted reader) or the stream was closed.
    func next(upTo size: Int) async throws -> [UInt8] {
        while true {
            let bytes = read(upTo: size)
            if !bytes.isEmpty { return bytes }
            try Task.checkCancellation()
            guard !closed else { throw SecretError(.unavailable, "the event stream was closed") }
            // Put back what `next` hands over, so `read` formats it with anything newer.
            let batch = await subscription.next()
            if !batch.isEmpty { unread.withLock { $0 += lines(batch) } }
        }
    }

    var isReadable: Bool { unread.withLock { !$0.isEmpty } || subscription.isReadable }

    func whenReadable(_ callback: @escaping @Sendable () -> Void) {
        if unread.withLock({ !$0.isEmpty }) { return callback() }
        subscription.whenReady(callback)
    }

    private let closedFlag = Atomic<Bool>(false)
    var closed: Bool { closedFlag.load(ordering: .relaxed) }

    func close() {
        closedFlag.store(true, ordering: .relaxed)
        subscription.close()
    }

    /// `{"lost":N}` first when the reader fell behind, then one line per event.
    /// Events the reader may not see are left out, as their names are from its listings.
    func lines(_ batch: ChangeBatch) -> [UInt8] {
        var out: [UInt8] = []
        if batch.lost > 0 { out += Array("{\"lost\":\(batch.lost)}\n".utf8) }
        return out + JSONLines.lines(batch.events.filter(shows).map(Line.init))
    }

    /// The fields of a line, named as DESIGN §7 lists them; absent versions are `null`.
    private struct Line: Encodable {
        var time: String
        var path: String
        var field: String?
        var oldVersion: String?
        var newVersion: String?
        var cause: String

        init(_ event: ChangeEvent) {
            time = Timestamp.iso8601(event.time)
            path = event.path.string
            field = event.field
            oldVersion = event.oldVersion
            newVersion = event.newVersion
            cause = event.cause.rawValue
        }

        enum CodingKeys: String, CodingKey {
            case time, path, field, cause
            case oldVersion = "old_version"
            case newVersion = "new_version"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(time, forKey: .time)
            try container.encode(path, forKey: .path)
            try container.encode(field, forKey: .field)
            try container.encode(oldVersion, forKey: .oldVersion)
            try container.encode(newVersion, forKey: .newVersion)
            try container.encode(cause, forKey: .cause)
        }
    }
}

extension SecretsFileSystem {
    /// What the cache reports: the kernel is told to drop what it keeps first, then every subscriber
    /// (`.events`, `on_change`) hears of the secret and of the rendered files made from it.
    func changed(_ change: CacheChange) {
        if change.dropsKernelCaches { kernel.changed(change.key) }
        guard case .secret(let path, version: nil) = change.key else { return }
        let time = clock.wallNow()
        var events = [
            ChangeEvent(
                time: time, path: path, field: change.field, oldVersion: change.oldVersion,
                newVersion: change.newVersion, cause: change.cause)
        ]
        for file in options.rendered.dependents(of: path) {
            events.append(ChangeEvent(time: time, path: file, oldVersion: nil, newVersion: nil, cause: change.cause))
        }
        changes.publish(events)
    }

    /// Returns once the kernel has acted on every change announced so far: a program told of a
    /// change reads the new value.
    public func changesVisible() async {
        await kernel.caughtUp()
    }

    /// The stream behind an `.events` descriptor; nil for any other handle. One an earlier worker
    /// opened is adopted for the caller of `context`, the process reading it now.
    func eventStream(_ inode: UInt64, handle: UInt64, context: RequestContext) -> EventStream? {
        guard handle != 0 else { return nil }
        if case .events(let stream)? = handles.get(handle) { return stream }
        guard inodes.key(for: inode)?.control?.file is EventsFile else { return nil }
        guard
            case .events(let stream) = handles.get(
                handle, orAdopt: { .events(newEventStream(for: try? caller(context, needed: options.policy != nil))) })
        else { return nil }
        return stream
    }

    /// A stream of the changes `caller` may see (DESIGN §10: `.events` lines are judged as names).
    func newEventStream(for caller: Caller?) -> EventStream {
        guard options.policy != nil else { return EventStream(changes.subscribe()) }
        // No caller to judge (a stream adopted outside a request): it sees nothing a policy covers.
        let judge = self.judge
        return EventStream(changes.subscribe()) { event in
            guard let caller else { return false }
            let path = event.field.flatMap { try? event.path.appending($0) } ?? event.path
            return judge.showsName(path, to: caller)
        }
    }

    /// A READ of `.events`: what waits now; with `nonBlocking`, EAGAIN when nothing does; otherwise
    /// when the next event comes, which may be never (`Answer.waiting`).
    func readEvents(_ stream: EventStream, size: Int, nonBlocking: Bool) -> Answer<[UInt8]> {
        let ready = stream.read(upTo: size)
        if !ready.isEmpty { return .now(.success(ready)) }
        if nonBlocking { return .now(.failure(SecretError(.wouldBlock, "no event yet"))) }
        return .waiting { try await stream.next(upTo: size) }
    }

    /// POLL: whether a read would return at once. With `notify`, a descriptor that is not readable
    /// calls it once when it becomes so. Every file but `.events` is always readable.
    public func poll(
        _ inode: UInt64, handle: UInt64, context: RequestContext = .unknown, notify: (@Sendable () -> Void)?
    ) -> Readiness {
        guard let stream = eventStream(inode, handle: handle, context: context) else { return .always }
        if stream.isReadable { return .readable }
        if let notify { stream.whenReadable(notify) }
        return .notYet
    }
}

/// What POLL answers for a descriptor.
public enum Readiness: Sendable, Equatable {
    /// Not a stream: its reads never wait.
    case always
    /// A stream with something to read now.
    case readable
    /// A stream with nothing to read yet: the `notify` given is called once when it has.
    case notYet
}

extension SecretError {
    static let eventsNeedOpens = SecretError(
        .unsupported, ".events needs every open to reach the daemon: mount with --events")
}
