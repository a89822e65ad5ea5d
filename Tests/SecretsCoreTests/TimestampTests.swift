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

    /// What both backends' servers send: Vault's `created_time` and token times (Go's RFC 3339 with
    /// nanoseconds, trailing zeros dropped), and AWS credential expirations (IMDS and the container
    /// endpoint in whole seconds, STS in XML, with or without milliseconds; SDK test data uses offsets).
    @Test func readsTheFormatsVaultAndAWSSend() throws {
        let cases: [(String, Double)] = [
            ("2026-11-29T03:14:29.090223388Z", 1_795_922_069.090223388),
            ("2026-11-29T03:14:29.09022Z", 1_795_922_069.09022),
            ("2026-11-29T03:14:29Z", 1_795_922_069),
            ("2015-08-30T12:36:00Z", 1_440_938_160),
            ("2026-11-29T04:14:23.383071Z", 1_795_925_663.383071),
            ("2026-11-29T04:14:23.383Z", 1_795_925_663.383),
            ("2015-08-30T14:36:00+02:00", 1_440_938_160),
            ("2015-08-30T07:06:00-05:30", 1_440_938_160),
            ("2024-02-29T00:00:00Z", 1_709_164_800),
            ("2024-02-29t00:00:00z", 1_709_164_800),
        ]
        for (text, seconds) in cases {
            let date = try #require(Timestamp.parseRFC3339(text), "\(text)")
            #expect(abs(date.timeIntervalSince1970 - seconds) < 1e-6, "\(text)")
        }
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
