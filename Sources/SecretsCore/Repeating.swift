import ServiceLifecycle

extension TimeSource {
    /// The one wait–sleep–recheck loop of the services that keep answers fresh: waits `first`, then
    /// runs `step` and waits as long as it says, again and again, until graceful shutdown or
    /// cancellation. A wait is this clock's, so tests move it by hand.
    public func repeating(after first: Duration = .zero, _ step: () async -> Duration) async {
        var wait = first
        while true {
            if wait > .zero {
                let pause = wait
                do {
                    try await cancelWhenGracefulShutdown { try await self.sleep(for: pause) }
                } catch {
                    return
                }
            }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            wait = await step()
        }
    }
}
