/// What goes to the store and changes it (a write, a rotation), and what the cache forgets when it does.
extension CachingSecretStore {
    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        if let coalescing { return try await coalescing.write(path, content: content) }
        return try await writeThrough(path, content: content)
    }

    /// After a rotation the entry is replaced, so the next reader sees the new value without a miss.
    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        if let coalescing { return try await coalescing.rotate(request) }
        return try await rotateThrough(request)
    }

    /// Forgets everything about `path`: its value, versions, and the listings above it, after a
    /// rotation or write through this cache made `newVersion` (`StoreFront.forget`).
    public func invalidate(
        _ path: SecretPath, field: String? = nil, oldVersion: String? = nil, newVersion: String? = nil
    ) async {
        if let coalescing {
            await coalescing.invalidate(path, field: field, oldVersion: oldVersion, newVersion: newVersion)
        } else {
            forget(path, field: field, oldVersion: oldVersion, newVersion: newVersion)
        }
    }
}
