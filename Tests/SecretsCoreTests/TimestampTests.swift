import Foundation
import SecretsCore
import Testing

@Suite struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 1_800_000_000.25)) == "2027-01-15T08:00:00.250Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 951_782_400.9999)) == "2000-02-29T00:00:00.999Z")
    }

    @Test func agreesWithFoundationToTheSecond() {
        for seconds in stride(from: 0.0, to: 4_000_000_000, by: 123_456_789.5) {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = Timestamp.iso8601(date)
            let theirs = date.formatted(.iso8601)
            #expect(ours.prefix(19) == theirs.prefix(19), "\(seconds)")
        }
    }
}
