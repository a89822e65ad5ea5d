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

    @Test func readsRFC3339AsVaultWritesIt() throws {
        let nanos = try #require(Timestamp.parseRFC3339("2026-11-29T03:14:29.090223388Z"))
        #expect(abs(nanos.timeIntervalSince1970 - 1_795_922_069.090223388) < 1e-6)
        #expect(Timestamp.parseRFC3339("1970-01-01T00:00:00Z")?.timeIntervalSince1970 == 0)
        #expect(Timestamp.parseRFC3339("1970-01-01T01:00:00+01:00")?.timeIntervalSince1970 == 0)
        #expect(Timestamp.parseRFC3339("1969-12-31T23:30:00-00:30")?.timeIntervalSince1970 == 0)
        #expect(Timestamp.parseRFC3339("2027-01-15T08:00:00.25Z").map(Timestamp.iso8601) == "2027-01-15T08:00:00.250Z")
    }

    @Test func refusesWhatIsNotRFC3339() {
        for text in [
            "", "garbage", "2026-11-29", "2026-11-29T03:14:29", "2026-11-29T03:14:29.Z", "2026-11-29T03:14:29Zjunk",
            "2026-11-29T03:14:29+0100", "2026-13-29T03:14:29Z", "2026-11-29T03:14:29.5",
        ] {
            #expect(Timestamp.parseRFC3339(text) == nil, "\(text)")
        }
    }
}
