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
///
/// Spinning must not take a CPU from work. The loop does not spin while a request is being
/// answered off the loop (a backend call: the reader's next request waits for that answer
/// anyway), and it yields its CPU every `yieldEvery` while it spins, so a thread made runnable
/// there (the task answering a miss, the HTTP client, the reader) does not wait out the window;
/// and it yields as soon as it finds nothing after an answer, for the reader the answer woke.
/// Without both, a kernel trace showed the loop spinning out its 200 µs while the task fetching
/// a Vault miss sat runnable on the same CPU.
struct SessionLoop {
    let session: OpaquePointer
    /// The widest window to stay awake after a request; zero is libfuse's plain blocking loop.
    let spinLimit: Duration
    /// Whether requests are being answered off the loop thread right now.
    let answeringElsewhere: () -> Bool
    /// Told the monotonic time of each request handled, so a stopping mount knows when it is quiet.
    var handled: (Int64) -> Void = { _ in }

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
        var lastYield = lastDone
        // Set when the loop slept because a request was being answered elsewhere: the gap that
        // leaves measures the backend, not how fast the reader comes back.
        var waitedForWork = false
        var result: Int32 = 0
        while fuse_session_exited(session) == 0 {
            let received = fuse_session_receive_buf(session, &buffer)
            if received == -EAGAIN {
                let now = Self.now()
                let working = answeringElsewhere()
                if now - lastDone < window.current, !working {
                    // Nothing came after an answer: the reader it woke may be waiting for this very
                    // CPU (a spinning loop often shares the reader's: the reader sleeps while it
                    // waits), so give it the CPU at once rather than after `yieldEvery`. A reader
                    // that took the CPU itself has already sent its next request, and pays nothing.
                    // (An answer sets `lastYield` to `lastDone`; the first yield after it moves it on.)
                    if lastYield == lastDone || now - lastYield >= Self.yieldEvery {
                        sched_yield()
                        lastYield = now
                    }
                    continue
                }
                if working { waitedForWork = true }
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
            if !waitedForWork { window.observe(gap: Self.now() - lastDone) }
            waitedForWork = false
            if Self.isInit(buffer) {
                _ = secretsfs_process_init(session, &buffer)
            } else {
                fuse_session_process_buf(session, &buffer)
            }
            lastDone = Self.now()
            handled(lastDone)
            lastYield = lastDone
        }
        fuse_session_reset(session)
        return result < 0 ? result : 0
    }

    /// How long the loop spins before it lets another thread on its CPU run: often enough that a
    /// runnable thread waits at most this long, rarely enough that the loop keeps its place in
    /// the scheduler (yielding on every empty read made a Python reader's opens 40% slower).
    static let yieldEvery: Int64 = 20_000

    /// Whether `buffer` holds the kernel's INIT (opcode 26), which `secretsfs_process_init` answers.
    static func isInit(_ buffer: fuse_buf) -> Bool {
        guard let memory = buffer.mem, buffer.size >= MemoryLayout<secretsfs_in_header>.size,
            (buffer.flags.rawValue & FUSE_BUF_IS_FD.rawValue) == 0
        else { return false }
        return memory.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == 26
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
