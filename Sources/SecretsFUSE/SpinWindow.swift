/// How long the request loop stays awake after a request, learned from the gaps between
/// requests in the way the kernel's guest halt-polling learns its window: a gap the full window
/// would have caught opens the window (from a quarter of it, doubling); a longer gap halves it,
/// down to nothing. A burst of requests gets a loop that never sleeps between them; a mount read
/// now and then spins for nothing at most a few times before it blocks at once again.
struct SpinWindow: Equatable {
    /// The widest window, in nanoseconds; zero turns spinning off.
    let maximum: Int64
    /// The window for the next gap, in nanoseconds.
    private(set) var current: Int64 = 0

    init(maximum: Int64) {
        self.maximum = max(0, maximum)
    }

    /// Learns from the time between the end of one request and the arrival of the next.
    mutating func observe(gap: Int64) {
        guard maximum > 0 else { return }
        if gap <= maximum {
            current = current == 0 ? maximum / 4 : min(current * 2, maximum)
        } else {
            current /= 2
            if current < maximum / 16 { current = 0 }
        }
    }
}
