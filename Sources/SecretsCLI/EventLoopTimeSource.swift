import Foundation
import NIOCore
import NIOPosix
import SecretsCore

/// The system clock, with waits scheduled on the event loop the waiter runs on. The cache races every
/// backend call against such a timer (`schedule`); `Task.sleep` would arm a timer on Dispatch's manager
/// thread and wake it for each call, a loop timer costs no thread switch to arm or to cancel, and no
/// task waits on it.
struct EventLoopTimeSource: TimeSource {
    private let system = SystemTimeSource()

    func monotonicNow() -> Duration { system.monotonicNow() }
    func wallNow() -> Date { system.wallNow() }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        let wake = loop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {}
        try await withTaskCancellationHandler {
            do {
                try await wake.futureResult.get()
            } catch {
                throw CancellationError()
            }
        } onCancel: {
            wake.cancel()
        }
    }

    func schedule(after duration: Duration, _ action: @escaping @Sendable () -> Void) -> @Sendable () -> Void {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        let timer = loop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) { action() }
        return { timer.cancel() }
    }
}
