extension Listing {
    /// The names `paths` (folders a config declares: certificates, leases) add to `folder`'s listing:
    /// those directly in it as secrets, the first segment of those deeper as folders.
    public static func implied(by paths: some Sequence<SecretPath>, in folder: SecretPath) -> Listing {
        var listing = Listing()
        for path in paths where path != folder && path.hasPrefix(folder) {
            guard let below = path.relative(to: folder)?.segments, let first = below.first else { continue }
            if below.count == 1 { listing.secrets.insert(first) } else { listing.folders.insert(first) }
        }
        return listing
    }
}
