#if canImport(Glibc)
    import Glibc
#endif

/// systemd's `Type=notify` protocol: datagrams to `$NOTIFY_SOCKET` (`READY=1`, `STOPPING=1`).
public enum SystemdNotifier {
    public static func notify(_ state: String, environment: [String: String] = ProcessEnvironment.current()) {
        guard var (address, length) = socketAddress(environment) else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = state.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, text, strlen(text), 0, $0, length)
                }
            }
        }
    }

    /// `$NOTIFY_SOCKET` as a socket address; nil when it is unset or too long.
    public static func socketAddress(_ environment: [String: String]) -> (sockaddr_un, socklen_t)? {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return (address, socklen_t(MemoryLayout<sa_family_t>.size + bytes.count))
    }
}

/// systemd's file descriptor store: the supervisor hands it the mounted /dev/fuse and the shared
/// memory of its workers (`FDSTORE=1`), so a `systemctl restart` or an upgrade starts a new
/// supervisor on the same mount instead of a new mount; it gets them back in `LISTEN_FDS`.
public enum SystemdFDStore {
    /// Sends `fd` to systemd under `name`; false when there is no `NOTIFY_SOCKET` or it failed.
    @discardableResult
    public static func store(_ fd: Int32, name: String, environment: [String: String]) -> Bool {
        guard var (address, length) = SystemdNotifier.socketAddress(environment) else { return false }
        let socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var text = Array("FDSTORE=1\nFDNAME=\(name)".utf8)
        let controlSize = MemoryLayout<cmsghdr>.size + MemoryLayout<Int32>.size
        var control = [UInt8](repeating: 0, count: (controlSize + 7) & ~7)
        return text.withUnsafeMutableBytes { payload in
            control.withUnsafeMutableBytes { controlBytes in
                withUnsafeMutablePointer(to: &address) { addressPointer in
                    var vector = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(addressPointer)
                        message.msg_namelen = length
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBytes.baseAddress
                        message.msg_controllen = controlBytes.count
                        let header = controlBytes.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
                        header.pointee.cmsg_level = SOL_SOCKET
                        header.pointee.cmsg_type = Int32(SCM_RIGHTS)
                        header.pointee.cmsg_len = controlSize
                        (controlBytes.baseAddress! + MemoryLayout<cmsghdr>.size).storeBytes(of: fd, as: Int32.self)
                        return sendmsg(socketFD, &message, 0) >= 0
                    }
                }
            }
        }
    }

    /// What the supervisor stores (Supervisor.offerToKeeper) and what it takes back from `LISTEN_FDS`.
    public static let mountNames = ["fuse", "inodes", "cache", "mountpoint", "leases"]

    /// `FDSTOREREMOVE=1`: systemd closes what it holds under each name. Sent on a stop for good, so
    /// that no later start is handed a mount that was unmounted (systemd 254+ can keep the store
    /// across a stop, FileDescriptorStorePreserve=).
    public static func remove(_ names: [String], environment: [String: String]) {
        for name in names { SystemdNotifier.notify("FDSTOREREMOVE=1\nFDNAME=\(name)", environment: environment) }
    }

    /// Descriptors systemd passed to this process, by name (`LISTEN_FDNAMES`), from fd 3 on.
    public static func passed(_ environment: [String: String]) -> [String: Int32] {
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count > 0
        else { return [:] }
        let names = (environment["LISTEN_FDNAMES"] ?? "").split(separator: ":", omittingEmptySubsequences: false)
        var result: [String: Int32] = [:]
        for index in 0..<count {
            let name = index < names.count ? String(names[index]) : "unknown"
            result[name] = Int32(3 + index)
        }
        return result
    }
}
