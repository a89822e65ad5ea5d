/// What the two stores in front of a backend share, `CachingSecretStore` and, at TTL 0, the
/// `CoalescingSecretStore` it composes: the calls no reader joins (a write, a rotation) within the
/// deadline and counted, the health check, a failure's traces, and what a write makes them forget.
/// Each mechanism once, whichever store holds the answers.
protocol StoreFront: Actor, SecretStore {
    nonisolated var upstream: any SecretStore { get }
    var clock: any TimeSource { get }
    var flights: Flights { get set }
    var stats: CacheStatistics { get set }
    /// The answers held: values and listings for their TTL, or at TTL 0 the listings of the moment.
    var table: EntryTable { get set }
    var changeHandler: (@Sendable (CacheChange) -> Void)? { get }
}

extension StoreFront {
    func writeThrough(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        let info = try await callUpstream(path) { try await $0.write(path, content: content) }
        forget(path, newVersion: info.id)
        return info
    }

    func rotateThrough(_ request: RotationRequest) async throws -> RotationResult {
        let result = try await callUpstream(request.path) { try await $0.rotate(request) }
        forget(request.path, field: result.field, oldVersion: result.oldVersion, newVersion: result.newVersion)
        // Replace the entry now, so the next reader sees the new value without a miss.
        _ = try? await read(request.path, version: nil)
        return result
    }

    /// Forgets everything about `path`: its value, versions, and the listings above it, after a
    /// rotation or write made `newVersion`, and announces it.
    func forget(_ path: SecretPath, field: String? = nil, oldVersion: String? = nil, newVersion: String? = nil) {
        let current = CacheKey.secret(path, version: nil)
        let previous = table[current]?.payload?.version
        var dropped: [CacheKey] = []
        for key in table.entries.keys {
            switch key {
            case .secret(let p, _) where p == path, .versions(let p) where p == path:
                dropped.append(key)
            case .listing(let folder) where path.hasPrefix(folder) && folder != path:
                dropped.append(key)
            default:
                break
            }
        }
        for key in dropped { table.remove(key) }
        table.forgetKind(path)
        // The value's key is always announced, even when it was not cached: the kernel may hold it.
        dropped.removeAll { $0 == current }
        for key in dropped { changeHandler?(CacheChange(key, cause: .rotation)) }
        changeHandler?(
            CacheChange(
                current, cause: .rotation, field: field, oldVersion: oldVersion ?? previous, newVersion: newVersion))
    }

    /// A call no reader joins (a write, a rotation), within the deadline and counted as any.
    func callUpstream<T: Sendable>(
        _ path: SecretPath,
        _ body: @escaping @Sendable (any SecretStore) async throws -> T
    ) async throws -> T {
        stats.backendCalls += 1
        let upstream = self.upstream
        do {
            let value = try await flights.call { try await body(upstream) }
            flights.breaker.recordSuccess()
            return value
        } catch {
            let failure = SecretError.from(error)
            trace(failure, path: path)
            throw failure
        }
    }

    /// The backend's health, within the call deadline; while the breaker is open the backend is not
    /// asked, so `.status` answers at once during an outage.
    func checkedHealth() async -> HealthReport {
        if flights.isOpen {
            return HealthReport(healthy: false, detail: "backend circuit open after repeated failures")
        }
        let upstream = self.upstream
        let timeout = flights.timeout
        do {
            return try await flights.answer({ await upstream.health() }) {
                HealthReport(healthy: false, detail: "no answer to the health check within \(timeout.seconds)s")
            }
        } catch {
            return HealthReport(healthy: false, detail: "health check cancelled")
        }
    }

    /// Counts a failure and tells the breaker of an unavailable backend.
    func trace(_ failure: SecretError, path: SecretPath) {
        stats.record(error: failure, path: path, at: clock.wallNow())
        if failure.code == .unavailable { flights.breaker.recordUnavailable(at: clock.monotonicNow()) }
    }
}
