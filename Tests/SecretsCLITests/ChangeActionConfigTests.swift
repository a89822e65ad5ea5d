import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ChangeActionConfigTests {
    @Test func actionsAreReadWithTheirDefaults() throws {
        let config = try ConfigFile.load(
            temporaryFile(
                """
                on_change:
                  - paths: ["tls/**"]
                    exec: ["/usr/sbin/nginx", "-s", "reload"]
                    debounce: 2s
                    timeout: 10s
                  - paths: ["db/password"]
                    signal: hup
                    pid_file: /run/app.pid
                    splay: 10s
                  - paths: app/*
                    systemd_unit: app.service
                """))
        let actions = try config.changeActions()
        #expect(actions.count == 3)
        #expect(actions[0].effect == .exec(["/usr/sbin/nginx", "-s", "reload"]))
        #expect(actions[0].debounce == .seconds(2) && actions[0].timeout == .seconds(10) && actions[0].splay == .zero)
        #expect(actions[1].effect == .signal(SIGHUP, pidFile: "/run/app.pid"))
        #expect(actions[1].debounce == ChangeAction.defaultDebounce && actions[1].splay == .seconds(10))
        #expect(actions[2].effect.argv == ["systemctl", "reload", "app.service"])
        #expect(actions[2].timeout == ChangeAction.defaultTimeout)
        #expect(actions.map(\.index) == [1, 2, 3])
        try config.checkStructuredKeys()
    }

    @Test(arguments: [
        ("  - paths: [a]\n    exec: [x]\n    command: y", "on_change action 1: unknown key 'command'"),
        ("  - paths: [a]\n    exec: [x]\n    signal: HUP\n    pid_file: /p", "not 'exec' and 'signal'"),
        ("  - paths: [a]\n    signal: BOGUS\n    pid_file: /p", "'signal' must be one of HUP, INT, TERM"),
        ("  - paths: [a]\n    signal: HUP", "'signal' needs a 'pid_file'"),
        ("  - paths: [a]\n    exec: [x]\n    pid_file: /p", "'pid_file' goes with 'signal' only"),
        ("  - paths: [a]\n    exec: [x]\n    debounce: soon", "'debounce' must be a duration"),
        ("  - paths: [a]\n    exec: [x]\n    timeout: 0", "'timeout' must be more than 0"),
        ("  - paths: [a]\n    signal: HUP\n    pid_file: /p\n    timeout: 5s", "'timeout' is for 'exec'"),
        ("  - paths: [a]", "needs exactly one of 'exec', 'signal', 'systemd_unit'"),
        ("  - exec: [x]", "on_change action 1 needs 'paths'"),
        ("  - paths: [a]\n    exec: []", "'exec' must be a list"),
        ("  - paths: [a]\n    exec: \"nginx -s reload\"", "'exec' must be a list"),
        ("  - paths: [\"/abs\"]\n    exec: [x]", "'paths' must be a list of path globs"),
        ("  - paths: [a]\n    signal: HUP\n    pid_file: relative.pid", "'pid_file' must be an absolute path"),
    ])
    func aMistakeIsOneLineNamingTheEntryAndKey(_ item: String, _ expected: String) throws {
        let config = try ConfigFile.load(temporaryFile("on_change:\n  - paths: [ok]\n    exec: [true]\n" + item))
        let error = #expect(throws: SecretError.self) { try config.checkStructuredKeys() }
        #expect(error?.message.contains(expected.replacingOccurrences(of: "action 1", with: "action 2")) == true)
        #expect(error?.message.contains("line ") == true)
    }

    @Test func onChangeMustBeAList() throws {
        let config = try ConfigFile.load(temporaryFile("on_change:\n  paths: [a]\n"))
        #expect(throws: SecretError.self) { try config.changeActions() }
    }

    @Test func pathsMatchSecretsFieldsAndTheSecretAboveAField() throws {
        let action = ChangeAction(index: 1, patterns: [["tls", "**"], ["db", "password"]], effect: .exec(["x"]))
        #expect(action.matches(try SecretPath("tls/cert"), field: nil))
        #expect(action.matches(try SecretPath("tls/a/b"), field: nil))
        #expect(!action.matches(try SecretPath("tlsx/cert"), field: nil))
        #expect(action.matches(try SecretPath("db/password"), field: nil))
        // A rotation of a field says which; an outside change to a folder of fields does not.
        #expect(action.matches(try SecretPath("db"), field: "password"))
        #expect(!action.matches(try SecretPath("db"), field: "username"))
        #expect(action.matches(try SecretPath("db"), field: nil))
        #expect(!action.matches(try SecretPath("other"), field: nil))
    }
}
