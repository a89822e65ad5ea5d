import Foundation
import Logging

/// Without `allow_other` the kernel lets only the mounting user into a FUSE mount, whatever owner and
/// modes its files show; an owner or a mode meant for someone else would lock them out without a word.
extension MountCommand {
    func warnIfOthersAreLockedOut(_ logger: Logger) {
        let kernelOptions = o.flatMap { $0.split(separator: ",").map(String.init) }
        if allowOther || kernelOptions.contains("allow_other") { return }
        let mountingUser = getuid()
        var meantForOthers: [String] = []
        if let uid, uid != mountingUser, !(uid == 0 && kernelOptions.contains("allow_root")) {
            meantForOthers.append("files are owned by uid \(uid)")
        }
        for (flag, mode) in [("--file-mode", fileMode), ("--dir-mode", dirMode)] {
            if let mode = mode?.mode, mode & 0o077 != 0 {
                meantForOthers.append("\(flag) \(String(format: "%04o", UInt32(mode))) lets group or others in")
            }
        }
        guard !meantForOthers.isEmpty else { return }
        let reasons = meantForOthers.joined(separator: " and ")
        logger.warning(
            "\(reasons), but without --allow-other only uid \(mountingUser) (the mounting user) can enter the mount")
    }
}
