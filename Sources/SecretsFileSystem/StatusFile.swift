import SecretsCore

/// `.status`: the mount's state as JSON, made anew for each reader. Figures and names only.
struct StatusFile: ControlFile {
    let name = ".status"
    let recordTag = "s"

    func contents(in fs: SecretsFileSystem, folder: SecretPath, reader: RequestContext) async throws -> [UInt8] {
        // World-readable, and a failed read's path may be a name someone else probed or one the
        // policy hides: only root and the mount's owner (DESIGN §10's trusted) see them.
        let trusted = reader.uid == 0 || reader.uid == fs.options.uid
        return try StatusRenderer.json(await fs.snapshot(), errorPaths: trusted)
    }
}
