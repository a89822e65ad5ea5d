import Logging
import SecretsCore
import ServiceLifecycle

/// Fetches credentials that expire (web identity, container, instance metadata) again when they come
/// within the chain's refresh margin, so a read does not wait for STS or a metadata service. A
/// `Service`, so the mount's `ServiceGroup` runs it and stops it on graceful shutdown; the clock is
/// the store's, so tests move it instead of sleeping. Without it running, a read refreshes them when
/// it finds them due, as before.
public struct AWSCredentialRefresh: Service {
    let chain: CredentialChain
    let clock: any TimeSource
    let logger: Logger

    /// After a refresh that did not bring new credentials, the next try waits at least this long.
    static let retryPause: Duration = .seconds(10)

    public func run() async {
        let (chain, clock) = (self.chain, self.clock)
        var failedLast = false
        while !Task.isShuttingDownGracefully {
            // Keys that never expire leave nothing to refresh, for the life of the store.
            guard let due = await chain.untilRefresh() else { return }
            let wait = failedLast ? max(due, Self.retryPause) : due
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            // The chain logs a failed refresh and keeps the credentials in hand while they work.
            _ = try? await chain.current()
            failedLast = await chain.untilRefresh() == .zero
            if failedLast {
                logger.debug("AWS credentials are due for a refresh that did not succeed; trying again later")
            }
        }
    }
}
