import ArgumentParser
import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

/// The checks of issue 11's bad-input items without a process; the mount tests run the same through
/// the binary (Tests/MountTests/test_bad_input.py).
@Suite struct InputCheckTests {
    @Test func durationsPrintAsTheyAreTyped() {
        #expect(DurationArgument(.seconds(300)).defaultValueDescription == "300s")
        #expect(DurationArgument(.seconds(86_400)).defaultValueDescription == "24h")
        #expect(DurationArgument(.milliseconds(250)).defaultValueDescription == "250ms")
        #expect(DurationArgument(.zero).defaultValueDescription == "0s")
    }

    @Test func aBadConfigValueIsPlacedNeverQuoted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-\(UUID().uuidString).yaml")
            .path
        try "log-level: error\n\ncache-ttl: sekrit-value-123\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try ConfigFile.load(path)
        do {
            _ = try file.arguments(for: "mount", given: ["mount", "/mnt"], environment: [:])
            Issue.record("a bad duration was taken")
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message == "config file \(path), line 3: invalid value for 'cache-ttl'")
        }
    }

    @Test func aCheckedConfigValueSaysWhyWhenThatQuotesNothing() {
        #expect(ConfigValueCheck.problem(.cacheTTL, arguments: ["--cache-ttl", "5m"]) == nil)
        #expect(
            ConfigValueCheck.problem(.cacheMaxEntries, arguments: ["--cache-max-entries", "0"])
                == "--cache-max-entries must be at least 1")
        #expect(ConfigValueCheck.problem(.backendKind, arguments: ["--backend", "sekrit-value"]) == "")
    }

    @Test func pathsBreakingARuleSayWhichWithoutThePath() {
        let long = PathArgument(argument: String(repeating: "n", count: 256))
        #expect(throws: ValidationError.self) { try long.check() }
        do {
            try long.check()
        } catch {
            #expect("\(error)" == "name longer than 255 bytes")
        }
        #expect(throws: Never.self) { try PathArgument(argument: String(repeating: "n", count: 255)).check() }
    }

    @Test func rotationLengthsAreBoundedAlike() {
        for length in [0, 7, 4097, 99_999_999] {
            #expect(throws: ValidationError.self) { try PasswordGenerator.checkLength(length, flag: "--length") }
        }
        for length in [8, 32, 4096] {
            #expect(throws: Never.self) { try PasswordGenerator.checkLength(length, flag: "--length") }
        }
    }
}
