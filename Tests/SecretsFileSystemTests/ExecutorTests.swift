import NIOPosix
import SecretsExecutor
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The binary runs every task on NIO's event loops (`EventLoopExecutor`). `scripts/test` runs this
/// suite a second time with `SECRETSFS_TEST_EXECUTOR=event-loop`, so the file system's semantics are
/// checked under that executor too, not only through the mount tests.
enum TestExecutor {
    static let requested = getenv("SECRETSFS_TEST_EXECUTOR").map { String(cString: $0) } == "event-loop"

    /// Installs the binary's executor when asked; every fixture calls it before starting work.
    static let installed: Bool = requested && EventLoopExecutor.install()

    static func installIfRequested() { _ = installed }
}

@Suite struct ExecutorTests {
    @Test func tasksRunOnTheExecutorTheRunAskedFor() async {
        TestExecutor.installIfRequested()
        let onALoop = await Task.detached { MultiThreadedEventLoopGroup.currentEventLoop != nil }.value
        #expect(onALoop == TestExecutor.requested)
    }
}
