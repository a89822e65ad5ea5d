import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

@Suite struct EventLoopTimeSourceTests {
    @Test func sleepWaitsItsDuration() async throws {
        let clock = EventLoopTimeSource()
        let start = clock.monotonicNow()
        try await clock.sleep(for: .milliseconds(30))
        #expect(clock.monotonicNow() - start >= .milliseconds(30))
    }

    @Test func cancellingASleeperWakesItWithCancellationError() async throws {
        let clock = EventLoopTimeSource()
        let start = clock.monotonicNow()
        let sleeper = Task { try await clock.sleep(for: .seconds(3600)) }
        try await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        // Far under the hour: a loaded machine (a CI run's unit pass beside its mount suite) stalled this 33 s once.
        #expect(clock.monotonicNow() - start < .seconds(600))
    }

    @Test func aTaskCancelledBeforeItSleepsDoesNotWait() async throws {
        let clock = EventLoopTimeSource()
        let start = clock.monotonicNow()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        // Far under the hour: a loaded machine (a CI run's unit pass beside its mount suite) stalled this 33 s once.
        #expect(clock.monotonicNow() - start < .seconds(600))
    }
}
