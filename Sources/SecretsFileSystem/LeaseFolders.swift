import SecretsCore

/// The folders of `leases:`, as far as the file system needs them: what `.status` shows of each
/// lease. The files themselves are the fields of a secret the store shows, so they reach the mount,
/// its cache, its change events and rendered files as any multi-field secret does.
public struct LeaseFolders: Sendable {
    let statuses: @Sendable () async -> [LeaseStatus]

    public static let none = LeaseFolders(statuses: { [] })

    public init(statuses: @escaping @Sendable () async -> [LeaseStatus]) { self.statuses = statuses }
}
