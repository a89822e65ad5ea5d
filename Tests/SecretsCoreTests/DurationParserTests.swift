import SecretsCore
import Testing

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("30", Duration.seconds(30)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("24h", .seconds(86_400)),
        ("250ms", .milliseconds(250)), ("7d", .seconds(604_800)), ("0", .zero), ("1.5s", .milliseconds(1500)),
        (" 10s ", .seconds(10)), ("0ms", .zero),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try DurationParser.parse(text) == expected)
    }

    @Test(arguments: [
        "", " ", "s", "ms", "abc", "-5", "-5s", "5x", "5 m", "1e3", "inf", "nan", "5S", "1..5s", ".", "5mm",
    ])
    func refuses(text: String) {
        do {
            _ = try DurationParser.parse(text)
            Issue.record("'\(text)' parsed")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }

    /// A number too large for Int64 milliseconds once trapped (`Int64(Double)` overflowed), so
    /// `--cache-ttl 99999999999999999999d` crashed the CLI; it must be a clean error.
    @Test func anOverflowingDurationIsRefusedNotACrash() {
        #expect(throws: SecretError.self) { try DurationParser.parse("99999999999999999999d") }
    }
}
