import Foundation
import Testing

@testable import SecretsCore

/// When a lease is renewed, when a credential is made anew, and how a failure is retried, on a clock
/// that is only numbers: a 6 s lease whose role caps it at 15 s.
@Suite struct LeaseScheduleTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    let schedule = LeaseSchedule()

    func at(_ seconds: Double) -> Date { Self.start.addingTimeInterval(seconds) }

    @Test func renewsAtTwoThirdsWhileRenewable() {
        let state = LeaseState(obtainedAt: at(0), expiresAt: at(6), renewable: true)
        let (action, due) = schedule.next(state)
        #expect(action == .renew)
        #expect(abs(due.timeIntervalSince(at(4))) < 0.001)
    }

    @Test func aLeaseThatCannotBeRenewedIsReplacedBeforeItEnds() {
        let state = LeaseState(obtainedAt: at(0), expiresAt: at(6), renewable: false)
        let (action, due) = schedule.next(state)
        #expect(action == .replace)
        #expect(due < state.expiresAt)
    }

    /// The whole life of a 6 s lease capped at 15 s: renewed at 4 and 8 in full, at 12 for 3 s only
    /// (the cap), then replaced at 14, before the old one ends at 15.
    @Test func theMaxTTLTurnsRenewalIntoReplacement() {
        var state = LeaseState(obtainedAt: at(0), expiresAt: at(6), renewable: true)
        var steps: [(LeaseSchedule.Action, Double)] = []
        let maxEnd = at(15)
        for _ in 0..<5 {
            let (action, due) = schedule.next(state)
            steps.append((action, due.timeIntervalSince(Self.start)))
            guard action == .renew else { break }
            let granted = min(6, maxEnd.timeIntervalSince(due))
            state = state.renewed(at: due, granted: granted)
        }
        #expect(steps.map(\.0) == [.renew, .renew, .renew, .replace])
        for (expected, step) in zip([4.0, 8.0, 12.0, 14.0], steps) { #expect(abs(step.1 - expected) < 0.001) }
        #expect(state.renewals == 3)
        #expect(state.capped)
        #expect(steps.last!.1 < 15)
    }

    @Test func retriesDoubleAndStayWithinTheLease() {
        let state = LeaseState(obtainedAt: at(0), expiresAt: at(300), renewable: true)
        let waits = (1...8).map { schedule.retryWait(failures: $0, state: state, at: at(0)) }
        #expect(
            waits.prefix(7) == [
                .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32), .seconds(60),
            ])
        #expect(waits[7] == .seconds(60))
        // 9 s left: never more than a third of it.
        #expect(schedule.retryWait(failures: 6, state: state, at: at(291)) == .seconds(3))
        // Ended or unknown: the doubling alone.
        #expect(schedule.retryWait(failures: 3, state: state, at: at(400)) == .seconds(4))
        #expect(schedule.retryWait(failures: 2, state: nil, at: at(0)) == .seconds(2))
    }

    @Test func aRecordComesBackWholeAndACutOneIsRefused() throws {
        var state = LeaseState(obtainedAt: at(0), expiresAt: at(6), renewable: true)
        state = state.renewed(at: at(4), granted: 6)
        let record = LeaseRecord(
            path: try SecretPath("db/app"), leaseID: SecretValue(string: "database/creds/app/abc123"),
            version: "1800000000000",
            fields: ["username": SecretValue(string: "v-root-app-x"), "password": SecretValue(bytes: [0, 0xff, 1])],
            state: state, made: 2)
        let bytes = LeaseRecordCodec.encode(record)
        let decoded = bytes.withUnsafeBytes { LeaseRecordCodec.decode($0) }
        #expect(decoded == record)
        for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(
                bytes.withUnsafeBytes { LeaseRecordCodec.decode(UnsafeRawBufferPointer(rebasing: $0[0..<cut])) } == nil)
        }
    }
}
