import SecretsCore
import Synchronization

import struct Foundation.Date

/// The reference `SecretStore`: every promise of the protocol, kept in memory. The conformance suite
/// runs on it first, so a failure on a backend is the backend's and not the suite's.
public final class InMemorySecretStore: SecretStore {
    public let descriptor = StoreDescriptor(
        backend: "memory", address: "memory", capabilities: [.versions, .write, .rotate])
    private let secrets = Mutex<[SecretPath: [Secret]]>([:])

    public init() {}

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        guard let versions = secrets.withLock({ $0[path] }), let newest = versions.last else {
            throw SecretError.notFound(path)
        }
        guard let version else { return newest }
        guard let match = versions.first(where: { $0.version == version }) else {
            throw SecretError.notFound(path, "no such version")
        }
        return match
    }

    public func list(_ folder: SecretPath) async throws -> Listing {
        Listing.children(of: folder, among: secrets.withLock { $0.keys.map(\.segments) })
    }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        guard let versions = secrets.withLock({ $0[path] }), !versions.isEmpty else { throw SecretError.notFound(path) }
        return VersionInfo.labellingCurrentAndPrevious(
            versions.map { VersionInfo(id: $0.version, createdAt: $0.createdAt) })
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        secrets.withLock { secrets in
            let id = String((secrets[path]?.count ?? 0) + 1)
            let secret = Secret(content: content, version: id, createdAt: Date())
            secrets[path, default: []].append(secret)
            return VersionInfo(id: id, createdAt: secret.createdAt, labels: [VersionInfo.current])
        }
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let current = try await read(request.path, version: nil)
        var content = current.content
        if let field = request.field {
            guard case .fields(var fields) = content, fields[field] != nil else {
                throw SecretError.notFound(request.path, "no such field")
            }
            fields[field] = request.generate()
            content = .fields(fields)
        } else {
            guard case .value = content else {
                throw SecretError(.invalidArgument, "a multi-field secret rotates one field").at(request.path)
            }
            content = .value(request.generate())
        }
        let written = try await write(request.path, content: content)
        return RotationResult(
            path: request.path, field: request.field, oldVersion: current.version, newVersion: written.id)
    }

    public func health() async -> HealthReport {
        HealthReport(healthy: true, detail: "in memory")
    }
}
