import Dispatch
import Foundation
import ServiceLifecycle
import Testing

/// Under the binary's executor every task runs on one event loop. Jobs used to run there as the
/// loop's serial executor, so a nonisolated async call was a real suspension, and swift-async-
/// algorithms' merge (behind ServiceLifecycle's `cancelOnGracefulShutdown()`) suspended holding its
/// lock: a cancel run by the loop in that window waited for ever (`secretsfs exec` hung so). The
/// cancel comes after each number of turns of the loop; a hang is a failure after 60 s. Only under
/// that executor (the executor pass): in the first pass, 589 other tests share two cooperative threads.
@Suite(.enabled(if: TestExecutor.requested)) struct CancelUnderTheLoopExecutorTests {
    @Test(arguments: 0..<8) func aCancelRightAfterTheFirstNextEnds(turns: Int) async {
        TestExecutor.installIfRequested()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let (stream, _) = AsyncStream<Int>.makeStream()
            let iterating = Task { for await _ in stream.cancelOnGracefulShutdown() {} }
            for _ in 0..<turns { await Task.yield() }
            iterating.cancel()
            await iterating.value
            done.signal()
        }
        // Waited for on a thread of its own: a stuck loop would hold every task.
        let ended = await withCheckedContinuation { (ended: CheckedContinuation<Bool, Never>) in
            Thread.detachNewThread { ended.resume(returning: done.wait(timeout: .now() + 60) == .success) }
        }
        #expect(ended)
    }
}
