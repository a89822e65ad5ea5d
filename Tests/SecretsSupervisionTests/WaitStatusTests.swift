import SecretsSupervision
import Testing

@Suite struct WaitStatusTests {
    @Test func anExitIsItsCode() {
        let status = WaitStatus(3 << 8)
        #expect(status.exitCode == 3 && status.signal == nil)
        #expect(status.description == "exited with status 3")
        #expect(status.shellStatus == 3 && status.failureStatus == 3)
    }

    @Test func aSignalIsWhatAShellShowsAndAFailure() {
        let status = WaitStatus(9)
        #expect(status.signal == 9 && status.exitCode == nil)
        #expect(status.description == "was killed by signal 9")
        #expect(status.shellStatus == 137 && status.failureStatus == 1)
    }

    @Test func aCleanExitStillFailsWithOneWhenTakenForAFailure() {
        #expect(WaitStatus(0).shellStatus == 0)
        #expect(WaitStatus(0).failureStatus == 1)
    }
}
