import Foundation
import SecretsCore

/// Metadata of a value file, readable with `getfattr -d`: never the value itself.
extension SecretsFileSystem {
    static let xattrPrefix = "user.secretsfs."
    static let userNamespace = "user."

    public func listXattrs(_ inode: UInt64, context: RequestContext = .unknown) -> Answer<[String]> {
        .later { [self] in try await xattrs(inode, context: context).map(\.0) }
    }

    /// Now for a name that is not ours, on a file that exists, so it needs no node resolved. A name
    /// outside `user.` (`security.selinux`, `system.posix_acl_access`: what `ls -l` asks every file)
    /// is in a namespace this file system does not keep: EOPNOTSUPP, which `ls` (coreutils'
    /// `getfilecon_cache`, `file_has_acl_cache`) remembers for the whole device and stops asking,
    /// where ENODATA made it ask each file, two round trips a file. The kernel has no per-name way to
    /// stop GETXATTR: only ENOSYS, which ends every extended attribute, ours included (fs/fuse/xattr.c,
    /// `fc->no_getxattr`). A `user.` name not ours: no such attribute.
    public func getXattr(_ inode: UInt64, name: String, context: RequestContext = .unknown) -> Answer<[UInt8]> {
        guard name.hasPrefix(Self.xattrPrefix) else {
            return .immediately {
                _ = try resolver.key(inode)
                if !name.hasPrefix(Self.userNamespace) {
                    throw SecretError(.unsupported, "extended attributes of that namespace are not kept")
                }
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
        return try await resolver.resolve(key).xattrs(in: self)
    }

    /// The attributes of a file showing `secret`, a version of what the cache keeps as `cachedAs`.
    func valueXattrs(
        _ secret: Secret, cachedAs: (secret: SecretPath, version: String?, file: SecretPath)
    ) async -> [(String, [UInt8])] {
        let freshness = await store.freshness(of: .secret(cachedAs.secret, version: cachedAs.version))
        let ttlLeft = max(0, store.policy.ttl.seconds - (freshness?.age.seconds ?? 0))
        var attributes: [(String, String)] = [
            ("version", secret.version),
            ("backend", store.descriptor.backend),
            ("stale", freshness?.expired == true ? "true" : "false"),
            ("ttl", String(Int(ttlLeft.rounded(.down)))),
        ]
        if let created = secret.createdAt { attributes.insert(("created", Timestamp.iso8601(created)), at: 1) }
        attributes += await certificateXattrs(cachedAs.file, serial: secret.version)
        return attributes.map { (Self.xattrPrefix + $0.0, Array($0.1.utf8)) }
    }
}
