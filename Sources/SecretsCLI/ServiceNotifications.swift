import CProcessGuard
import Foundation
import SecretsCore
import SecretsFUSE

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's `Type=notify` protocol: datagrams to `$NOTIFY_SOCKET` (`READY=1`, `STOPPING=1`).
enum SystemdNotifier {
    static func notify(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
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
    static func socketAddress(_ environment: [String: String]) -> (sockaddr_un, socklen_t)? {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return (address, socklen_t(MemoryLayout<sa_family_t>.size + bytes.count))
    }
}

/// What the daemon tells the `mount --daemon` that waits for it, one line on a pipe: it serves, or
/// it failed with this exit status and this one line, which the waiting process exits with and
/// prints, so `--daemon` (and fstab) reports a failure as the foreground mount does.
enum DaemonVerdict: Equatable, Sendable {
    case ready
    case failed(status: Int32, line: String)

    var encoded: String {
        switch self {
        case .ready: return "READY\n"
        case .failed(let status, let line):
            // One line whatever the message holds; a status of 0 would read as success.
            let flat = line.split(whereSeparator: \.isNewline).joined(separator: "; ")
            return "ERROR \(status == 0 ? 1 : status) \(flat)\n"
        }
    }

    /// Nil for anything else, which the waiting process takes for a daemon that died first.
    init?(decoding text: String) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text == "READY" {
            self = .ready
            return
        }
        guard text.hasPrefix("ERROR ") else { return nil }
        let rest = text.dropFirst("ERROR ".count)
        let parts = rest.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        guard let status = Int32(parts[0]), (1...255).contains(status) else { return nil }
        self = .failed(status: status, line: parts.count > 1 ? String(parts[1]) : "")
    }
}

/// `mount --daemon`: the parent starts the same command again without `--daemon` in a new
/// session, then waits on a pipe for the child to say it serves (exit 0) or why it failed (its
/// exit status and one-line error, which the parent exits with) — as gocryptfs does.
enum DaemonReadiness {
    static let environmentKey = "SECRETSFS_READY_FD"

    private static var descriptor: Int32? {
        ProcessInfo.processInfo.environment[environmentKey].flatMap(Int32.init)
    }

    static func reportReady() { send(DaemonVerdict.ready.encoded) }

    static func reportFailure(_ message: String, status: Int32) {
        send(DaemonVerdict.failed(status: status, line: message).encoded)
    }

    private static func send(_ line: String) {
        guard let fd = descriptor else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        unsetenv(environmentKey)
    }

    /// Starts the daemon and returns only with its verdict: the mount serves, or the error.
    static func spawnAndWait(
        arguments: [String], logFile: String?, environment given: [String: String]? = nil
    ) -> DaemonVerdict {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            return .failed(status: 71, line: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        let childFD: Int32 = 3

        var spawn = ChildSpawn(program: "/proc/self/exe", arguments: [CommandLine.arguments[0]] + arguments)
        spawn.fileActions = [.open(0, path: "/dev/null", flags: O_RDONLY)]
        // Opened here, as the caller, with the audit log's rules: a planted symlink is not followed.
        var logDescriptor: Int32 = -1
        if let logFile {
            do {
                logDescriptor = try TrustedFile.openForAppend(logFile, what: "--log-file")
            } catch {
                close(readEnd)
                close(writeEnd)
                return .failed(status: ExitStatus.code(for: error).rawValue, line: error.message)
            }
            spawn.fileActions.append(.duplicate(logDescriptor, as: 1))
        } else {
            spawn.fileActions.append(.open(1, path: "/dev/null", flags: O_WRONLY))
        }
        defer { if logDescriptor >= 0 { close(logDescriptor) } }
        // Nothing else of the starter's: a daemon that kept the CSI plugin's gRPC socket (not
        // close-on-exec) held the kubelet's connection open after the plugin died.
        spawn.fileActions += [
            .duplicate(1, as: 2), .duplicate(writeEnd, as: childFD), .close(writeEnd), .close(readEnd),
            .closeFrom(childFD + 1),
        ]
        spawn.newSession = true

        var environment = given ?? ProcessInfo.processInfo.environment
        environment[environmentKey] = String(childFD)
        let pid: pid_t
        do {
            pid = try spawn.start(environment: environment.map { "\($0.key)=\($0.value)" })
        } catch {
            close(writeEnd)
            close(readEnd)
            return .failed(status: 71, line: "cannot start the daemon: \(error.reason)")
        }
        close(writeEnd)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        // One line is the whole answer; EOF without one means the daemon died first.
        while !received.contains(UInt8(ascii: "\n")) {
            let count = read(readEnd, &buffer, buffer.count)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        close(readEnd)
        if let verdict = DaemonVerdict(decoding: String(decoding: received, as: UTF8.self)) {
            // A daemon that failed says so before it unmounts and exits: answer once it is gone, so
            // the caller (a CSI publish, an fstab retry) finds no mount of it, and it is reaped.
            if case .failed = verdict {
                for _ in 0..<500 {
                    guard case .running = ChildExit.poll(pid) else { break }
                    usleep(20_000)
                }
            }
            return verdict
        }
        // No line: the daemon died first. Its status is still the answer, if it has one.
        polling: for _ in 0..<50 {
            switch ChildExit.poll(pid) {
            case .ended(_, let ended):
                return .failed(
                    status: ended.failureStatus, line: "the daemon \(ended.description) before the mount was ready")
            case .noChild: break polling
            // Blocking by design: the caller waits for the verdict on a thread of its own.
            case .running: usleep(20_000)
            }
        }
        return .failed(status: 1, line: "the daemon exited before the mount was ready")
    }
}

/// systemd's file descriptor store: the supervisor hands it the mounted /dev/fuse and the shared
/// memory of its workers (`FDSTORE=1`), so a `systemctl restart` or an upgrade starts a new
/// supervisor on the same mount instead of a new mount; it gets them back in `LISTEN_FDS`.
enum SystemdFDStore {
    /// Sends `fd` to systemd under `name`; false when there is no `NOTIFY_SOCKET` or it failed.
    @discardableResult
    static func store(_ fd: Int32, name: String, environment: [String: String]) -> Bool {
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
    static let mountNames = ["fuse", "inodes", "cache", "mountpoint", "leases"]

    /// `FDSTOREREMOVE=1`: systemd closes what it holds under each name. Sent on a stop for good, so
    /// that no later start is handed a mount that was unmounted (systemd 254+ can keep the store
    /// across a stop, FileDescriptorStorePreserve=).
    static func remove(_ names: [String], environment: [String: String]) {
        for name in names { SystemdNotifier.notify("FDSTOREREMOVE=1\nFDNAME=\(name)", environment: environment) }
    }

    /// Descriptors systemd passed to this process, by name (`LISTEN_FDNAMES`), from fd 3 on.
    static func passed(_ environment: [String: String]) -> [String: Int32] {
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
