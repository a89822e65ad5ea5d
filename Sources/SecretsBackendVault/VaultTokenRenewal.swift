import SecretsCore
import ServiceLifecycle

/// The background half of `VaultAuth`: renews the token before it expires (or logs in again when it
/// cannot), and for a store that started while Vault was unreachable tries to start until it can.
/// A `Service`, so the mount's `ServiceGroup` runs it and stops it on graceful shutdown, as
/// Hummingbird runs its timers (`cancelOnGracefulShutdown()`); the clock is the store's, so tests
/// move it instead of sleeping. Without this service running the token is never renewed.
public struct VaultTokenRenewal: Service {
    let auth: VaultAuth
    let clock: any TimeSource

    public func run() async {
        let (auth, clock) = (self.auth, self.clock)
        await withDiscardingTaskGroup { timers in
            // One timer per schedule; a newer schedule leaves older timers to wake up to nothing.
            for await _ in auth.scheduleChanges.cancelOnGracefulShutdown() {
                guard let (wait, schedule) = await auth.nextWake() else { continue }
                timers.addTask {
                    do { try await clock.sleep(for: wait) } catch { return }
                    await auth.wake(schedule)
                }
            }
            // Graceful shutdown or the store's shutdown: no renewal starts after this.
            timers.cancelAll()
        }
    }
}
