import CFUSE
import Logging
import SecretsFileSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What the C callbacks reach through the session's userdata: the file system, the requests being
/// answered off the loop thread, and the one way an operation's answer becomes a reply.
final class Bridge: Sendable {
    let fileSystem: SecretsFileSystem
    let logger: Logger
    let inflight = InflightRequests()
    /// When the loop last handled a request (monotonic nanoseconds).
    let lastRequest = Atomic<Int64>(0)
    /// Called once the kernel's INIT is answered.
    let onInit: @Sendable () -> Void
    /// The requests answered later, by the number their interrupt callback is given.
    private let pending = Mutex<(next: UInt, requests: [UInt: PendingRequest])>((0, [:]))
    /// Where a LOOKUP's value pages go once its entry is in (`replyEntry`); set once the session is.
    private let notifier = Mutex<KernelNotifier?>(nil)

    init(fileSystem: SecretsFileSystem, logger: Logger, onInit: @escaping @Sendable () -> Void = {}) {
        self.fileSystem = fileSystem
        self.logger = logger
        self.onInit = onInit
    }

    func attach(_ notifier: KernelNotifier) { self.notifier.withLock { $0 = notifier } }

    /// LOOKUP's reply, then the value's pages into the kernel's cache: only once the entry is in
    /// does the kernel hold an inode to keep them for.
    func replyEntry(_ req: fuse_req_t?, _ answer: Answer<EntryReply>) {
        reply(req, answer, { .entry($0) }) { [self] entry in
            if let pages = entry.pages { notifier.withLock { $0 }?.store(pages, inode: entry.attributes.inode) }
        }
    }

    static func from(_ req: fuse_req_t?) -> Bridge {
        Unmanaged<Bridge>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    /// The bridge of a request the kernel sent for `operation`, counted for `.metrics`.
    static func from(_ req: fuse_req_t?, _ operation: RequestTally.Operation) -> Bridge {
        let bridge = from(req)
        bridge.fileSystem.requests.count(operation)
        return bridge
    }

    /// Replies to `req` with `answer`: on this thread when it is there now, from a task when it
    /// comes later, so one slow backend call never holds up other requests. Whatever the operation
    /// throws becomes an errno in `ErrnoMapping`, the one place that decides.
    ///
    /// A `waiting` answer (a read of `.events` waiting for the next event) is not counted in flight:
    /// it may wait for ever, and neither a worker's drain nor the loop's spin should wait with it.
    /// A worker that retires leaves it unanswered, and the next one is sent it again.
    /// `sent` runs after a successful reply is written.
    func reply<Value: Sendable>(
        _ req: fuse_req_t?, _ answer: Answer<Value>, _ makeReply: @escaping @Sendable (Value) -> Reply,
        sent: (@Sendable (Value) -> Void)? = nil
    ) {
        let request = Request(raw: req!)
        switch answer {
        case .now(.success(let value)):
            FUSEReplier.send(request, makeReply(value))
            sent?(value)
        case .now(.failure(let error)):
            FUSEReplier.send(request, .error(ErrnoMapping.errno(for: error, logger: logger)))
        case .later(let work):
            later(request, work, counted: true, makeReply, sent)
        case .waiting(let work):
            later(request, work, counted: false, makeReply, sent)
        }
    }

    private func later<Value: Sendable>(
        _ request: Request, _ work: @escaping @Sendable () async throws -> Value, counted: Bool,
        _ makeReply: @escaping @Sendable (Value) -> Reply, _ sent: (@Sendable (Value) -> Void)?
    ) {
        let pending = PendingRequest { FUSEReplier.send(request, $0) }
        let id = self.pending.withLock { state in
            state.next += 1
            state.requests[state.next] = pending
            return state.next
        }
        let interruptedAlready = pending.registering {
            fuse_req_interrupt_func(request.raw, Bridge.interrupted, UnsafeMutableRawPointer(bitPattern: id))
        }
        if interruptedAlready {
            self.pending.withLock { _ = $0.requests.removeValue(forKey: id) }
            pending.reply(.error(EINTR))
            return
        }
        if counted { inflight.begin() }
        let logger = self.logger
        pending.start(
            Task { [self] in
                let reply: Reply
                var value: Value?
                do {
                    value = try await work()
                    reply = makeReply(value!)
                } catch {
                    reply =
                        pending.isInterrupted ? .error(EINTR) : .error(ErrnoMapping.errno(for: error, logger: logger))
                }
                // Out of the table before the reply: once replied, libfuse may free the request.
                self.pending.withLock { _ = $0.requests.removeValue(forKey: id) }
                if pending.reply(reply), let value { sent?(value) }
                if counted { inflight.end() }
            })
    }

    /// libfuse's interrupt callback, on the loop thread: `data` is the number `later` gave the request.
    private static let interrupted: @convention(c) (fuse_req_t?, UnsafeMutableRawPointer?) -> Void = { req, data in
        let bridge = Bridge.from(req)
        let id = UInt(bitPattern: data)
        bridge.pending.withLock { $0.requests[id] }?.interrupt()
    }
}
