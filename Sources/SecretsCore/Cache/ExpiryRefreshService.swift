import ServiceLifecycle

/// Refresh-ahead by the clock: fetches again, just before its lifetime ends, each answer a reader
/// asked the cache for since it was fetched (`CachingSecretStore.refreshExpiring`). In the default
/// mode the kernel keeps a value for its lifetime without asking, so no read comes late in it to
/// start a refresh-ahead: without this service the next fetch of a value in use waits for the
/// first read after the expiry (that reader waits for the backend), and a fleet's fetches bunch at
/// the moments its programs happen to read. An answer nobody asked for since is left to expire, so
/// a name no longer read costs at most one fetch more.
public struct ExpiryRefreshService: Service {
    let cache: CachingSecretStore
    let clock: any TimeSource

    public init(cache: CachingSecretStore, clock: any TimeSource) {
        self.cache = cache
        self.clock = clock
    }

    public func run() async {
        guard cache.policy.ttl > .zero else { return }
        while !Task.isShuttingDownGracefully {
            let wait = await cache.refreshExpiring()
            do {
                try await cancelWhenGracefulShutdown { try await clock.sleep(for: wait) }
            } catch {
                break
            }
        }
        await cache.expiryServiceStopped()
    }
}
