import CFUSE
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// The request loop: libfuse's own single-threaded loop, except that after a request it may keep
/// asking /dev/fuse for the next one, for at most `spinLimit`, before it sleeps.
///
/// Why: a reader's open, read and read-at-EOF arrive microseconds apart. A loop thread that has
/// gone to sleep between them must be woken from the reader's CPU, and on a virtual machine that
/// wake-up (an inter-processor interrupt to a halted CPU) costs more than answering the request.
/// Staying awake takes that cost off every request of a burst; `SpinWindow` learns when bursts
/// happen, and a mount at rest sleeps in poll(2).
struct SessionLoop {
    let session: OpaquePointer
    /// The widest window to stay awake after a request; zero is libfuse's plain blocking loop.
    let spinLimit: Duration

    /// Runs until the session is told to exit or the file system is unmounted. Returns 0, or a
    /// negative errno when reading /dev/fuse failed for another reason.
    func run() -> Int32 {
        let fd = fuse_session_fd(session)
        var window = SpinWindow(maximum: spinLimit.nanoseconds)
        if window.maximum > 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        var buffer = fuse_buf()
        defer { free(buffer.mem) }
        var lastDone = Self.now()
        var result: Int32 = 0
        while fuse_session_exited(session) == 0 {
            let received = fuse_session_receive_buf(session, &buffer)
            if received == -EAGAIN {
                if Self.now() - lastDone < window.current { continue }
                var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                // EINTR (the wake signal at shutdown) comes back round to the exit check.
                _ = poll(&waiting, 1, -1)
                continue
            }
            if received == -EINTR { continue }
            if received <= 0 {
                result = received
                break
            }
            window.observe(gap: Self.now() - lastDone)
            fuse_session_process_buf(session, &buffer)
            lastDone = Self.now()
        }
        fuse_session_reset(session)
        return result < 0 ? result : 0
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
