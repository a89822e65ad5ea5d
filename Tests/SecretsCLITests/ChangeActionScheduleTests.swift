import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsCLI

#if canImport(Glibc)
    import Glibc
#endif

/// Debounce and splay on a manual clock: no sleeping, the runs counted exactly.
@Suite(.timeLimit(.minutes(1))) struct ChangeActionScheduleTests {
    final class Runs: Sendable {
        let paths = Mutex<[[SecretPath]]>([])
        let times = Mutex<[Duration]>([])
        var count: Int { paths.withLock { $0.count } }
    }

    func schedule(
        debounce: Duration, splay: Duration = .zero, random: Double = 0.5, clock: ManualTimeSource, runs: Runs,
        during: (@Sendable () async -> Void)? = nil
    ) -> ChangeActionSchedule {
        ChangeActionSchedule(
            debounce: debounce, splay: splay, clock: clock, random: { random },
            perform: { paths in
                runs.paths.withLock { $0.append(paths) }
                runs.times.withLock { $0.append(clock.monotonicNow()) }
                await during?()
            })
    }

    func until(_ condition: () -> Bool) async {
        for _ in 0..<100_000 where !condition() { await Task.yield() }
    }

    /// Lets the schedule's task reach its next sleep (or finish).
    func settle(_ clock: ManualTimeSource, sleepers: Int = 1) async {
        for _ in 0..<10_000 where clock.sleeperCount < sleepers { await Task.yield() }
        for _ in 0..<100 { await Task.yield() }
    }

    @Test func tenChangesWithinTheDebounceMakeOneRunAfterTheQuietPeriod() async throws {
        let clock = ManualTimeSource()
        let runs = Runs()
        let s = schedule(debounce: .seconds(2), clock: clock, runs: runs)
        for index in 0..<10 {
            await s.changed([try SecretPath("tls/cert\(index % 3)")])
            await settle(clock)
            clock.advance(by: .milliseconds(100))
        }
        // The last change came at 0.9 s; at 2.8 s it is still quiet for less than 2 s: not yet.
        clock.advance(by: .milliseconds(1800))
        await settle(clock)
        #expect(runs.count == 0)
        clock.advance(by: .milliseconds(100))
        await until { runs.count == 1 }
        #expect(runs.count == 1)
        #expect(
            runs.paths.withLock { $0 } == [
                [try SecretPath("tls/cert0"), try SecretPath("tls/cert1"), try SecretPath("tls/cert2")]
            ])
        // The run is 2 s after the last change, which came at 0.9 s.
        #expect(runs.times.withLock { $0 } == [.milliseconds(2900)])
        clock.advance(by: .seconds(60))
        await settle(clock, sleepers: 0)
        #expect(runs.count == 1)
    }

    @Test func changesApartByMoreThanTheDebounceRunEach() async throws {
        let clock = ManualTimeSource()
        let runs = Runs()
        let s = schedule(debounce: .seconds(1), clock: clock, runs: runs)
        for round in 1...3 {
            await s.changed([try SecretPath("a")])
            await settle(clock)
            clock.advance(by: .seconds(1))
            await until { runs.count == round }
        }
        #expect(runs.count == 3)
    }

    @Test func splayWaitsItsRandomPartAfterTheDebounce() async throws {
        let clock = ManualTimeSource()
        let runs = Runs()
        let s = schedule(debounce: .seconds(1), splay: .seconds(10), random: 0.25, clock: clock, runs: runs)
        await s.changed([try SecretPath("a")])
        await settle(clock)
        clock.advance(by: .seconds(1))
        await settle(clock)
        clock.advance(by: .milliseconds(2400))
        await settle(clock)
        #expect(runs.count == 0)
        clock.advance(by: .milliseconds(100))
        await until { runs.count == 1 }
        #expect(runs.times.withLock { $0 } == [.milliseconds(3500)])
    }

    @Test func aChangeDuringARunMakesOneMoreRunAfterIt() async throws {
        let clock = ManualTimeSource()
        let runs = Runs()
        let gate = Gate()
        let s = schedule(debounce: .seconds(1), clock: clock, runs: runs, during: { await gate.wait() })
        await s.changed([try SecretPath("a")])
        await settle(clock)
        clock.advance(by: .seconds(1))
        await until { runs.count == 1 }
        #expect(runs.count == 1)
        // Two changes while the first run goes on: one run after it, never two at once.
        await s.changed([try SecretPath("b")])
        await s.changed([try SecretPath("c")])
        gate.open()
        await settle(clock)
        #expect(runs.count == 1)
        clock.advance(by: .seconds(1))
        await until { runs.count == 2 }
        gate.open()
        await settle(clock, sleepers: 0)
        #expect(runs.paths.withLock { $0 } == [[try SecretPath("a")], [try SecretPath("b"), try SecretPath("c")]])
    }

    @Test func stoppedMeansNoMoreRuns() async throws {
        let clock = ManualTimeSource()
        let runs = Runs()
        let s = schedule(debounce: .seconds(1), clock: clock, runs: runs)
        await s.changed([try SecretPath("a")])
        await settle(clock)
        await s.stop()
        clock.advance(by: .seconds(5))
        await settle(clock, sleepers: 0)
        await s.changed([try SecretPath("a")])
        clock.advance(by: .seconds(5))
        await settle(clock, sleepers: 0)
        #expect(runs.count == 0)
    }
}

/// Holds a run until the test lets it go: each `open` lets one `wait` through.
final class Gate: Sendable {
    private let state = Mutex((permits: 0, waiters: [CheckedContinuation<Void, Never>]()))

    func open() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.permits += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let pass = state.withLock { state -> Bool in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if pass { continuation.resume() }
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct ActionProgramTests {
    let logger = Logger(label: "test")

    @Test func aSystemdUnitIsReloadedBySystemctl() {
        #expect(ChangeAction.Effect.systemdUnit("nginx.service").argv == ["systemctl", "reload", "nginx.service"])
        #expect(ChangeAction.Effect.signal(1, pidFile: "/p").argv == nil)
    }

    @Test func theChangedPathsAreCutAtWholeNames() throws {
        #expect(ChangeActionRunner.names([try SecretPath("a/b"), try SecretPath("c")]) == "a/b,c")
        let many = try (0..<5000).map { try SecretPath("folder/secret-\($0)") }
        let names = ChangeActionRunner.names(many)
        #expect(names.utf8.count <= ChangeActionRunner.maxNames + 4 && names.hasSuffix(",..."))
        #expect(names.dropLast(4).split(separator: ",").allSatisfy { $0.hasPrefix("folder/secret-") })
    }

    @Test func credentialsAreWithheldFromThePrograms() {
        let passed = ProgramSpawn.passedOn([
            "VAULT_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "k", "AWS_SESSION_TOKEN": "s", "HOME": "/h",
        ])
        #expect(passed == ["HOME": "/h"])
    }

    @Test func theExitStatusIsKeptAndANonZeroOneFails() async {
        let ok = await program(["sh", "-c", "exit 0"]).run()
        #expect(ok == ActionOutcome(exitStatus: 0, failure: nil))
        let failed = await program(["sh", "-c", "echo out; echo err >&2; exit 3"]).run()
        #expect(failed == ActionOutcome(exitStatus: 3, failure: "exit"))
        let missing = await program(["/no/such/program"]).run()
        #expect(missing.failure == "spawn" && missing.exitStatus == nil)
    }

    @Test func aProgramPastItsTimeoutIsStoppedWithWhatItStarted() async {
        let start = ContinuousClock.now
        var hanging = program(["sh", "-c", "sleep 60 & sleep 60"], timeout: .milliseconds(300))
        hanging.grace = .seconds(2)
        let outcome = await hanging.run()
        #expect(outcome.failure == "timeout")
        let status = outcome.exitStatus ?? -1
        #expect(status == 128 + SIGTERM)
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    private func program(_ argv: [String], timeout: Duration = .seconds(20)) -> ActionProgram {
        ActionProgram(
            argv: argv, environment: ["PATH": "/usr/bin:/bin"], timeout: timeout, index: 1, clock: SystemTimeSource(),
            logger: logger)
    }
}
