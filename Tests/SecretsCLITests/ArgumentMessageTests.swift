import ArgumentParser
import Testing

@testable import SecretsCLI

/// DESIGN 5.1: no error quotes what was typed as a value, the argument parser's own included.
@Suite struct ArgumentMessageTests {
    static let planted = "hunter2-PLANTED"

    /// The line a user would see for `arguments`, or nil when they parse.
    func errorLine(_ arguments: [String]) -> String? {
        do {
            _ = try SecretsFSCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return SecretsFSCommand.usageLine(for: error, arguments: arguments)
        }
    }

    @Test func anExtraArgumentIsNamedNotQuoted() throws {
        let line = try #require(errorLine(["put", "app/x", Self.planted]))
        #expect(!line.contains(Self.planted))
        #expect(line.contains("unexpected argument"))
    }

    @Test func aBadOptionValueNamesTheOption() throws {
        for arguments in [
            ["mount", "/mnt", "--cache-ttl", Self.planted], ["mount", "/mnt", "--cache-ttl=\(Self.planted)"],
            ["get", "x", "--backend", Self.planted], ["mount", "/mnt", "--file-mode", Self.planted],
        ] {
            let line = try #require(errorLine(arguments))
            #expect(!line.contains(Self.planted), "\(arguments[2])")
            #expect(line.contains("invalid value for --"))
        }
    }

    @Test func aFlagGivenAValueIsNamed() throws {
        let line = try #require(errorLine(["mount", "/mnt", "--direct-io=\(Self.planted)"]))
        #expect(!line.contains(Self.planted))
        #expect(line.contains("--direct-io"))
    }

    @Test func aValidationMessageLosesTheValue() throws {
        let line = try #require(errorLine(["put", "db", "--field", "bad/\(Self.planted)"]))
        #expect(!line.contains(Self.planted))
    }

    @Test func aVaultTokenFlagPointsAtTheWaysATokenIsGiven() throws {
        let line = try #require(errorLine(["get", "x", "--vault-token", Self.planted]))
        #expect(line.contains("--vault-token-file") && line.contains("VAULT_TOKEN"))
        #expect(!line.contains("--vault-role") && !line.contains(Self.planted))
    }

    @Test func aShortValueInOurOwnWordsStays() throws {
        let line = try #require(errorLine(["mount", "/mnt", "--refresh-interval", "0"]))
        #expect(line == "--refresh-interval must be more than 0")
    }

    @Test func namesAndChoicesStay() {
        let line = ArgumentMessage.withoutValues(
            "The value 'sekrit' is invalid for '--log-format <log-format>'. Please provide one of 'text' and 'json'.",
            arguments: ["get", "x", "--log-format", "sekrit"])
        #expect(line == "invalid value for --log-format <log-format>. Please provide one of 'text' and 'json'.")
        #expect(
            ArgumentMessage.withoutValues("Unknown option '--bogus'", arguments: ["get", "x", "--bogus"])
                == "Unknown option '--bogus'")
    }
}
