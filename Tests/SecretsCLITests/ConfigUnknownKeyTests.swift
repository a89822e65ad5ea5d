import SecretsCore
import Testing

@testable import SecretsCLI

/// An unknown key is named in its error only when it has a key's shape: a secret pasted into the
/// file where a key goes must not reach a terminal or a log.
@Suite struct ConfigUnknownKeyTests {
    @Test(arguments: [
        ("cache-tll: 5m", true),
        ("hunter2-PLANTED-value: 1", false),
        ("files:\n  - path: a\n    colour: blue", true),
        ("files:\n  - path: a\n    sk-live PLANTED: 1", false),
    ])
    func aKeyIsQuotedOnlyWhenItLooksLikeOne(text: String, quoted: Bool) throws {
        let file = try temporaryFile(text)
        let result = Result { () throws(SecretError) in _ = try ConfigFile.load(file).renderedFiles() }
        guard case .failure(let error) = result else {
            Issue.record("\(text) loaded")
            return
        }
        #expect(error.code == .configuration)
        #expect(error.message.contains("unknown key"))
        #expect(!error.message.contains("PLANTED"))
        #expect(error.message.contains("'") == quoted, "\(error.message)")
    }
}
