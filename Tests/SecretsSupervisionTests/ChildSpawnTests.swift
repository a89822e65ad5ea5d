import Foundation
import Testing

@testable import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.timeLimit(.minutes(1))) struct ChildSpawnTests {
    private func shell(_ script: String) -> ChildSpawn {
        ChildSpawn(program: "sh", arguments: ["sh", "-c", script], searchesPath: true)
    }

    @Test func theExitCodeComesBack() throws {
        let pid = try shell("exit 3").start(environment: [])
        let status = ChildExit.wait(for: pid)
        #expect(status.exitCode == 3)
        #expect(status.signal == nil)
    }

    @Test func aSignalThatEndsItComesBack() throws {
        var spawn = shell("kill -TERM $$")
        spawn.defaultSignals = [SIGTERM]
        let pid = try spawn.start(environment: [])
        #expect(ChildExit.wait(for: pid).signal == SIGTERM)
    }

    /// The supervisor blocks what its sources read, Dispatch's threads nearly everything: a child must
    /// not inherit that (a program that never sees SIGTERM cannot be stopped).
    @Test func aChildStartsWithNoSignalBlocked() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for sig in SupervisorSignals.handled + [SIGUSR1] { sigaddset(&blocked, sig) }
        var before = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &before)
        defer { pthread_sigmask(SIG_SETMASK, &before, nil) }
        // Field SigBlk of /proc/PID/status: hexadecimal, all zero when nothing is blocked. Read by the
        // spawned process itself (`exec`): the shell blocks signals of its own while it waits for a child.
        let pid = try shell(#"exec grep -Eq '^SigBlk:[[:space:]]+0+$' /proc/self/status"#).start(environment: [])
        #expect(ChildExit.wait(for: pid).exitCode == 0)
        // Without defaultSignals too, and the caller's own mask is left as it was.
        var now = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &now)
        #expect(sigismember(&now, SIGCHLD) == 1)
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let pid = try shell(#"test "$ONLY" = one && test -z "$HOME""#).start(environment: ["ONLY=one"])
        #expect(ChildExit.wait(for: pid).exitCode == 0)
    }

    @Test func descriptorsFromTheLowestUpAreClosed() throws {
        let open = Glibc.open("/dev/null", O_RDONLY)
        defer { close(open) }
        #expect(open > 2)
        var spawn = shell("test ! -e /proc/self/fd/\(open)")
        spawn.fileActions = [.closeFrom(3)]
        let pid = try spawn.start(environment: [])
        #expect(ChildExit.wait(for: pid).exitCode == 0)
    }

    @Test func ownProcessGroup() throws {
        // Field 5 of /proc/PID/stat is the process group.
        var spawn = shell(#"test "$(cut -d' ' -f5 /proc/$$/stat)" = "$$""#)
        spawn.ownProcessGroup = true
        let pid = try spawn.start(environment: [])
        #expect(ChildExit.wait(for: pid).exitCode == 0)
    }

    @Test func aMissingProgramIsItsErrno() {
        do {
            _ = try ChildSpawn(program: "/nonexistent/program", arguments: ["x"]).start(environment: [])
            Issue.record("a program that does not exist was started")
        } catch {
            #expect(error.code == ENOENT)
        }
    }

    @Test func pollSaysRunningThenEndedOnce() throws {
        let pid = try shell("sleep 30").start(environment: [])
        guard case .running = ChildExit.poll(pid) else {
            Issue.record("a sleeping child has not ended")
            return
        }
        kill(pid, SIGKILL)
        var result = ChildExit.poll(pid)
        while case .running = result {
            usleep(1000)
            result = ChildExit.poll(pid)
        }
        guard case .ended(let ended, let status) = result else {
            Issue.record("the killed child was not reported")
            return
        }
        #expect(ended == pid)
        #expect(status.signal == SIGKILL)
        guard case .noChild = ChildExit.poll(pid) else {
            Issue.record("a reaped child was reported again")
            return
        }
    }
}
