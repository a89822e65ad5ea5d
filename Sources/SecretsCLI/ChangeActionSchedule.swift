import SecretsCore

/// When one `on_change` action runs: after `debounce` without a new change (many changes close
/// together make one run, after the last), then a random wait in [0, splay). Never two runs of one
/// action at once: changes during a run make one more run after it. Time is the injected clock's.
actor ChangeActionSchedule {
    private let debounce: Duration
    private let splay: Duration
    private let clock: any TimeSource
    private let random: @Sendable () -> Double
    private let perform: @Sendable ([SecretPath]) async -> Void
    private var pending: Set<SecretPath> = []
    private var lastChange: Duration = .zero
    private var driver: Task<Void, Never>?
    private var stopped = false

    init(
        debounce: Duration, splay: Duration, clock: any TimeSource, random: @escaping @Sendable () -> Double,
        perform: @escaping @Sendable ([SecretPath]) async -> Void
    ) {
        self.debounce = debounce
        self.splay = splay
        self.clock = clock
        self.random = random
        self.perform = perform
    }

    /// A change to `paths`: the quiet period starts again.
    func changed(_ paths: some Sequence<SecretPath>) {
        guard !stopped else { return }
        pending.formUnion(paths)
        lastChange = clock.monotonicNow()
        if driver == nil { driver = Task { await self.drive() } }
    }

    /// No more runs; a run under way is not waited for.
    func stop() {
        stopped = true
        driver?.cancel()
        driver = nil
    }

    private func drive() async {
        while !Task.isCancelled {
            while true {
                let left = lastChange + debounce - clock.monotonicNow()
                if left <= .zero { break }
                do { try await clock.sleep(for: left) } catch { return }
            }
            if splay > .zero {
                do { try await clock.sleep(for: splay * min(max(random(), 0), 1)) } catch { return }
            }
            let paths = pending.sorted()
            pending = []
            await perform(paths)
            if pending.isEmpty || stopped {
                driver = nil
                return
            }
        }
    }
}
