import Foundation
import SecretsCore

/// Metadata of a value file, readable with `getfattr -d`: never the value itself.
extension SecretsFileSystem {
    static let xattrPrefix = "user.secretsfs."

    public func listXattrs(_ inode: UInt64, context: RequestContext = .unknown) -> Answer<[String]> {
        .later { [self] in try await xattrs(inode, context: context).map(\.0) }
    }

    /// Now for a name that is not ours, on a file that exists: no such attribute. `ls -l` asks every
    /// file for its ACL and security label, so this needs no node resolved.
    public func getXattr(_ inode: UInt64, name: String, context: RequestContext = .unknown) -> Answer<[UInt8]> {
        guard name.hasPrefix(Self.xattrPrefix) else {
            return .immediately {
                _ = try resolver.key(inode)
                throw SecretError(.noSuchAttribute, "no such attribute")
            }
        }
        return .later { [self] in
            guard let value = try await xattrs(inode, context: context).first(where: { $0.0 == name })?.1 else {
                throw SecretError(.noSuchAttribute, "no such attribute")
            }
            return value
        }
    }

    /// A version, a creation time and the inputs are judged as the value they describe (DESIGN §10).
    private func xattrs(_ inode: UInt64, context: RequestContext) async throws -> [(String, [UInt8])] {
        let key = try resolver.key(inode)
        try checkPolicy(key, try caller(context, needed: options.policy != nil))
        let node = try await resolver.resolve(key)
        if case .rendered(_, let output) = node { return renderedXattrs(output) }
        guard node.value != nil, let secret = node.secret else { return [] }
        // The secret whose freshness the cache keeps: for a version's field, the secret it belongs to.
        let path: SecretPath
        switch key {
        case .path(let p), .value(let p, _, _): path = p
        case .version(let s, _), .versionField(let s, _, _), .label(let s, _): path = s
        default: return []
        }
        let version: String?
        switch key {
        case .version(_, let id), .versionField(_, let id, _): version = id
        default: version = nil
        }
        let freshness = await store.freshness(of: .secret(path, version: version))
        let ttlLeft = max(0, store.policy.ttl.seconds - (freshness?.age.seconds ?? 0))
        var attributes: [(String, String)] = [
            ("version", secret.version),
            ("backend", store.descriptor.backend),
            ("stale", freshness?.expired == true ? "true" : "false"),
            ("ttl", String(Int(ttlLeft.rounded(.down)))),
        ]
        if let created = secret.createdAt { attributes.insert(("created", Timestamp.iso8601(created)), at: 1) }
        var file = path
        if case .versionField(let folder, _, let field) = key, let versioned = try? folder.appending(field) {
            file = versioned
        }
        attributes += await certificateXattrs(file, serial: secret.version)
        return attributes.map { (Self.xattrPrefix + $0.0, Array($0.1.utf8)) }
    }
}
