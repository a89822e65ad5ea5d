import CFUSE
import Logging
import SecretsFileSystem
import Synchronization

/// What the C callbacks reach through the session's userdata: the file system, and a count of
/// requests still being answered so shutdown can let them finish.
final class Bridge: Sendable {
    let fileSystem: SecretsFileSystem
    let logger: Logger
    let inflight = Atomic<Int>(0)
    /// When the loop last handled a request (monotonic nanoseconds).
    let lastRequest = Atomic<Int64>(0)
    /// Called once the kernel's INIT is answered.
    let onInit: @Sendable () -> Void

    init(fileSystem: SecretsFileSystem, logger: Logger, onInit: @escaping @Sendable () -> Void = {}) {
        self.fileSystem = fileSystem
        self.logger = logger
        self.onInit = onInit
    }

    static func from(_ req: fuse_req_t?) -> Bridge {
        Unmanaged<Bridge>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    /// Answers off the loop thread, so one slow backend call never holds up other requests.
    /// Whatever the handler throws becomes an errno in `ErrnoMapping`, the one place that decides.
    func spawn(_ req: fuse_req_t?, _ body: @escaping @Sendable (SecretsFileSystem) async throws -> Reply) {
        let request = Request(raw: req!)
        let fileSystem = self.fileSystem
        let logger = self.logger
        inflight.add(1, ordering: .relaxed)
        Task {
            let reply: Reply
            do {
                reply = try await body(fileSystem)
            } catch {
                reply = .error(ErrnoMapping.errno(for: error, logger: logger))
            }
            FUSEReplier.send(request, reply)
            self.inflight.subtract(1, ordering: .relaxed)
        }
    }

    /// Answers on the loop thread, for requests that need nothing but memory.
    func answer(_ req: fuse_req_t?, _ body: (SecretsFileSystem) throws -> Reply) {
        let reply: Reply
        do {
            reply = try body(fileSystem)
        } catch {
            reply = .error(ErrnoMapping.errno(for: error, logger: logger))
        }
        FUSEReplier.send(Request(raw: req!), reply)
    }
}
