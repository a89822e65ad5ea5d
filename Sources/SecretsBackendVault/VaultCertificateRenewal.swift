import Foundation
import SecretsCore
import ServiceLifecycle

/// Issues each certificate of `certificates:` when the mount starts, then again once its renewal
/// fraction of the lifetime has passed (less a random spread), and after a failure every `retryDelay`
/// until an issue works. A `Service` on the store's clock, as token renewal is, so tests move the clock
/// instead of sleeping.
///
/// `reissue` is how a new certificate reaches readers: the mount passes the cache's rotation, which
/// issues through the store, replaces the cached folder and tells the kernel and inotify watchers, as
/// a write to `.rotate` does.
public struct VaultCertificateRenewal: Service {
    let certificates: VaultCertificates
    let clock: any TimeSource
    /// A number in [0, 1) for each renewal's spread; injected so tests can pin it.
    let random: @Sendable () -> Double
    let retryDelay: Duration
    let reissue: @Sendable (SecretPath) async throws -> Void

    public init(
        certificates: VaultCertificates, clock: any TimeSource,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        retryDelay: Duration = .seconds(30),
        reissue: @escaping @Sendable (SecretPath) async throws -> Void
    ) {
        self.certificates = certificates
        self.clock = clock
        self.random = random
        self.retryDelay = retryDelay
        self.reissue = reissue
    }

    public func run() async {
        await withDiscardingTaskGroup { group in
            for request in certificates.requests.values {
                group.addTask { await renew(request) }
            }
        }
    }

    private func renew(_ request: VaultCertificateRequest) async {
        let path = request.path
        var failed = false
        // A first read may have issued one already; otherwise this is the issue at mount.
        if await certificates.newest(path) == nil {
            do { try await reissue(path) } catch { failed = true }
        }
        while !Task.isShuttingDownGracefully {
            let wait = await nextWait(request, failed: failed)
            do {
                try await cancelWhenGracefulShutdown { [clock] in try await clock.sleep(for: wait) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            // The store logs a failure once per cause; the certificate in hand is served meanwhile.
            do {
                try await reissue(path)
                failed = false
            } catch {
                failed = true
            }
        }
    }

    /// Until the renewal is due; after a failure `retryDelay`, or sooner while a certificate in hand
    /// has less than three times that left, so a short-lived one is retried before it expires.
    func nextWait(_ request: VaultCertificateRequest, failed: Bool) async -> Duration {
        let now = clock.wallNow()
        guard let newest = await certificates.newest(request.path) else { return retryDelay }
        if failed {
            let left = newest.expiresAt.timeIntervalSince(now)
            return min(retryDelay, .seconds(max(1, left / 3)))
        }
        let due = newest.renewalDue(fraction: request.renewFraction, spread: request.renewSpread, random: random())
        return .seconds(max(0, due.timeIntervalSince(now)))
    }
}
