import Foundation
import SecretsCSI
import SecretsCore
import SecretsFUSE
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// One secretsfs mount per set of options on the node (`secretsfs csi --share-mounts`), bound
/// read-only into the target path of every volume that asks for those options: N pods reading one
/// secret cost one backend read per TTL instead of N. The shared mount lives under the state
/// folder and is unmounted when the last volume naming it (in its record) is unpublished.
actor CSISharedMounts {
    let folder: String
    /// Starts under way: a second volume with the same options waits for the first one's mount.
    private var starting: [String: Task<DaemonVerdict, Never>] = [:]

    init(folder: String) { self.folder = folder }

    func path(_ key: String) -> String { folder + "/\(key)" }

    /// The shared mount for `key` (made if need be), then a read-only bind of it at `target`.
    func publish(_ key: String, options: [String], at target: String, volumes: CSINodeVolumes) async throws(CSIError) {
        let source = path(key)
        if !CSINodeVolumes.isServed(source) {
            let verdict: DaemonVerdict
            if let underWay = starting[key] {
                verdict = await underWay.value
            } else {
                if mkdir(source, 0o755) != 0, errno != EEXIST {
                    throw CSIError(.internal, "cannot create the shared mountpoint: \(CSINodeVolumes.reason())")
                }
                let logFile = volumes.stateFolder + "/logs/shared-\(key).log"
                let task = Task { await volumes.runner.start(["mount", source] + options, logFile: logFile) }
                starting[key] = task
                verdict = await task.value
                starting[key] = nil
            }
            if case .failed(let status, let line) = verdict {
                throw CSIError(CSINodeVolumes.code(forExit: status), line)
            }
        }
        // MS_BIND, then MS_REMOUNT | MS_BIND | MS_RDONLY: a bind takes its flags only on a remount.
        guard Glibc.mount(source, target, nil, 4096, nil) == 0 else {
            throw CSIError(.internal, "cannot bind the shared mount at target_path: \(CSINodeVolumes.reason())")
        }
        if Glibc.mount(nil, target, nil, 4096 | 32 | 1, nil) != 0 {
            let reason = CSINodeVolumes.reason()
            umount2(target, 0)
            throw CSIError(.internal, "cannot make the bind at target_path read-only: \(reason)")
        }
    }

    /// Unmounts the shared mount once no volume's record names it.
    func release(_ key: String, volumes: CSINodeVolumes) async {
        guard starting[key] == nil, !volumes.sharedMountIsUsed(key) else { return }
        let source = path(key)
        try? await volumes.runner.stop(source)
        rmdir(source)
    }
}
