import Foundation
import SecretsCore
import ServiceLifecycle

/// Keeps each credential of `leases:` alive: made at mount with `prefetch` (else on the first read),
/// renewed at `LeaseSchedule`'s point while Vault renews it in full, made anew at that point once it
/// cannot be (max TTL), so the new one is in place before the old one ends. A failed step is retried
/// with doubling waits (one log line per cause); once a lease ends with no new credential, `expire`
/// drops what readers were shown, so they get EIO rather than a dead credential. A `Service` on the
/// store's clock, so tests move the clock instead of sleeping.
///
/// `replace` is how a new credential reaches readers: the mount passes the cache's rotation, which makes
/// it through the store, replaces the cached folder and tells the kernel, inotify watchers, `on_change`
/// and rendered files, as a write to `.rotate` does.
public struct LeasesRenewal: Service {
    let leases: VaultLeases
    let clock: any TimeSource
    let schedule: LeaseSchedule
    let replace: @Sendable (SecretPath) async throws -> Void
    let expire: @Sendable (SecretPath) async -> Void

    public init(
        leases: VaultLeases, clock: any TimeSource, schedule: LeaseSchedule = LeaseSchedule(),
        replace: @escaping @Sendable (SecretPath) async throws -> Void,
        expire: @escaping @Sendable (SecretPath) async -> Void
    ) {
        self.leases = leases
        self.clock = clock
        self.schedule = schedule
        self.replace = replace
        self.expire = expire
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for request in leases.requests.values {
                    group.addTask { await keep(request) }
                }
            }
        }
    }

    private func keep(_ request: VaultLeaseRequest) async {
        let path = request.path
        var failures = 0
        if request.prefetch, await leases.state(path) == nil {
            do { try await replace(path) } catch { failures = 1 }
        }
        var expired = false
        while !Task.isCancelled, await !leases.handedOver {
            guard let state = await leases.state(path) else {
                if failures == 0 {
                    // Nothing to keep until a reader asks for it; a reader's failed attempt is retried here.
                    if await !leases.hasFailed(path) { await leases.waitUntilTried(path) }
                    if await leases.hasFailed(path) { failures = 1 }
                    continue
                }
                // A first credential that could not be made: tried again with doubling waits.
                guard await sleep(schedule.retryWait(failures: failures, state: nil, at: clock.wallNow())) else {
                    return
                }
                do {
                    try await replace(path)
                    failures = 0
                } catch {
                    failures += 1
                }
                continue
            }
            let now = clock.wallNow()
            var (action, due) = schedule.next(state)
            if failures > 0 {
                due = now.addingTimeInterval(schedule.retryWait(failures: failures, state: state, at: now).seconds)
            }
            // A lease that ends before the step is due: readers stop getting it at its end.
            if !expired, state.expiresAt <= due {
                guard await sleep(.seconds(max(0, state.expiresAt.timeIntervalSince(now)))) else { return }
                expired = true
                await expire(path)
                continue
            }
            guard await sleep(.seconds(max(0, due.timeIntervalSince(now)))) else { return }
            if state.hasEnded(at: clock.wallNow()) { action = .replace }
            do {
                switch action {
                case .renew: try await leases.renew(path)
                case .replace: try await replace(path)
                }
                failures = 0
                expired = false
            } catch {
                failures += 1
                // A failed replacement is logged where credentials are made; a failed renewal here.
                if action == .renew {
                    let wait = schedule.retryWait(
                        failures: failures, state: await leases.state(path), at: clock.wallNow())
                    await leases.noteProblem(path, SecretError.from(error), retryIn: wait)
                }
            }
        }
    }

    /// False when the wait was cut short: the mount is stopping.
    private func sleep(_ duration: Duration) async -> Bool {
        do {
            try await clock.sleep(for: duration)
            return !Task.isCancelled
        } catch {
            return false
        }
    }
}
