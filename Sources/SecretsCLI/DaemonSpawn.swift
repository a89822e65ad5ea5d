import CProcessGuard
import Foundation
import SecretsCore
import SecretsFUSE
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

extension DaemonReadiness {
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
