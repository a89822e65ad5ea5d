/// What goes to the store and changes it (a write, a rotation), and what the cache forgets when it does.
extension CachingSecretStore {
    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        let info = try await callUpstream(path) { try await $0.write(path, content: content) }
        invalidate(path, newVersion: info.id)
        return info
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let result = try await callUpstream(request.path) { try await $0.rotate(request) }
        invalidate(
            request.path, field: result.field, oldVersion: result.oldVersion, newVersion: result.newVersion)
        // Replace the entry now, so the next reader sees the new value without a miss.
        _ = try? await read(request.path, version: nil)
        return result
    }

    /// Forgets everything about `path`: its value, versions, and the listings above it, after a
    /// rotation or write through this cache made `newVersion`.
    public func invalidate(
        _ path: SecretPath, field: String? = nil, oldVersion: String? = nil, newVersion: String? = nil
    ) {
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
}
