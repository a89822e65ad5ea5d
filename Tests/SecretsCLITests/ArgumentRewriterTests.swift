import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

@Suite struct ArgumentRewriterTests {
    @Test func mountHelperFormBecomesMountWithFlags() throws {
        let argv = try ArgumentRewriter.rewrite(
            ["vault", "/run/secrets", "-o", "rw,vault_addr=http://x:8200,cache_ttl=5m,allow_other,noatime"],
            environment: [:])
        #expect(
            argv == [
                "mount", "/run/secrets", "--backend", "vault", "--vault-addr", "http://x:8200", "--cache-ttl", "5m",
                "--allow-other", "-o", "rw,noatime", "--daemon",
            ])
    }

    @Test func foregroundOptionKeepsTheDaemonInFront() throws {
        let argv = try ArgumentRewriter.rewrite(["local", "/mnt", "-o", "foreground,store=/s.db"], environment: [:])
        #expect(argv == ["mount", "/mnt", "--backend", "local", "--store", "/s.db"])
    }

    @Test func directMountFormTakesOurOptionsFromO() throws {
        let argv = try ArgumentRewriter.rewrite(
            ["mount", "/mnt", "-o", "store=/s.db,cache_ttl=5m,show-versions,ro", "--daemon", "-oallow_root,direct_io"],
            environment: [:])
        #expect(
            argv == [
                "mount", "/mnt", "--store", "/s.db", "--cache-ttl", "5m", "--show-versions", "--daemon", "--direct-io",
                "-o", "ro,allow_root",
            ])
        // Already rewritten, as the daemon and each worker rewrite their command line again: unchanged.
        #expect(try ArgumentRewriter.rewrite(argv, environment: [:]) == argv)
        // Only our options: no `-o` is left for the kernel; `foreground` is the direct form's default.
        #expect(
            try ArgumentRewriter.rewrite(["mount", "/mnt", "-o", "foreground,cache-ttl=0"], environment: [:]) == [
                "mount", "/mnt", "--cache-ttl", "0",
            ])
    }

    @Test func checkTakesMountsOptionsFromOAndTheConfigFile() throws {
        // `check` parses its arguments as `mount`'s: the same `-o` words and config keys (issue 25 item 12).
        #expect(
            try ArgumentRewriter.rewrite(["check", "/mnt", "-o", "cache_ttl=5m,ro"], environment: [:]) == [
                "check", "/mnt", "--cache-ttl", "5m", "-o", "ro",
            ])
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("check-\(UUID().uuidString).yaml")
        try "cache-ttl: 5m\nstore: /s.db\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let argv = try ArgumentRewriter.rewrite(["check", "--config", config.path], environment: [:])
        #expect(argv.contains("--cache-ttl") && argv.contains("--store"))
        let get = try ArgumentRewriter.rewrite(["get", "a", "--config", config.path], environment: [:])
        #expect(!get.contains("--cache-ttl") && get.contains("--store"))
    }

    @Test func directMountFormNamesAnOptionNeedingAValueNeverAValue() {
        do {
            _ = try ArgumentRewriter.rewrite(["mount", "/mnt", "-o", "hunter2-PLANTED=x,cache_ttl"], environment: [:])
            Issue.record("a bare cache_ttl was taken")
        } catch {
            #expect(error.message == "mount option cache_ttl needs a value")
        }
    }

    @Test func optionNeedingAValueWithoutOneIsAnError() {
        #expect(throws: SecretError.self) {
            try ArgumentRewriter.rewrite(["local", "/mnt", "-o", "store"], environment: [:])
        }
    }

    @Test func onlyABackendMayStartTheMountHelperForm() throws {
        for argv in [["chek", "/mnt"], ["/mnt"], ["heath"], ["hunter2-PLANTED", "/mnt", "-o", "x"]] {
            do {
                _ = try ArgumentRewriter.rewrite(argv, environment: [:])
                Issue.record("\(argv[0]) was taken for mount(8)'s form")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("unknown subcommand"))
                #expect(!error.message.contains(argv[0]))
            }
        }
        #expect(throws: SecretError.self) { try ArgumentRewriter.rewrite(["heath", "x"], environment: [:]) }
        do {
            _ = try ArgumentRewriter.rewrite(["heath"], environment: [:])
        } catch {
            #expect(error.message.contains("did you mean 'health'?"))
        }
        #expect(
            try ArgumentRewriter.rewrite(["local", "/mnt", "-o", "foreground"], environment: [:]) == [
                "mount", "/mnt", "--backend", "local",
            ])
    }

    @Test func commandsThatReadNoStoreIgnoreABrokenConfig() throws {
        let broken = ["SECRETSFS_CONFIG": "/nonexistent/secretsfs.yaml"]
        for argv in [["unmount", "/mnt"], ["status", "/mnt"], ["reload", "/mnt"], ["help", "get"]] {
            #expect(try ArgumentRewriter.rewrite(argv, environment: broken) == argv)
        }
        #expect(throws: SecretError.self) { try ArgumentRewriter.rewrite(["get", "x"], environment: broken) }
    }

    @Test func helpOfAnUnknownSubcommandIsAnError() {
        #expect(throws: SecretError.self) { try ArgumentRewriter.rewrite(["help", "nosuch"], environment: [:]) }
    }

    @Test func nonemptyIsOurOptionInTheHelperForm() throws {
        let argv = try ArgumentRewriter.rewrite(["local", "/mnt", "-o", "nonempty,foreground"], environment: [:])
        #expect(argv == ["mount", "/mnt", "--backend", "local", "--nonempty"])
    }

    @Test func subcommandsPassThroughUntouched() throws {
        #expect(
            try ArgumentRewriter.rewrite(["get", "a/b", "--store", "/s"], environment: [:]) == [
                "get", "a/b", "--store", "/s",
            ])
    }

    @Test func configFileFillsOnlyWhatFlagsAndEnvironmentLeaveOpen() throws {
        let file = try temporaryFile(
            """
            backend: vault
            vault-addr: http://from-file:8200
            cache-ttl: 1h
            env-include: [A_*, B_*]
            allow-other: true
            mlock: false
            """)
        let argv = try ArgumentRewriter.rewrite(
            ["mount", "/mnt", "--cache-ttl", "5s", "--config", file],
            environment: ["VAULT_ADDR": "http://from-env:8200"])
        #expect(argv.contains("--allow-other"))
        #expect(!argv.contains("--mlock"))
        #expect(!argv.contains("--vault-addr"), "the environment wins over the file")
        #expect(argv.filter { $0 == "--cache-ttl" }.count == 1, "the flag wins over the file")
        #expect(argv.contains("http://from-file:8200") == false)
        #expect(argv.split(separator: "--env-include").count == 3, "a list becomes a repeated flag")
        let get = try ArgumentRewriter.rewrite(["get", "x", "--config", file], environment: [:])
        #expect(!get.contains("--allow-other"), "mount-only keys are not given to other commands")
        #expect(get.contains("--backend"))
    }

    @Test func unknownKeysAndBadShapesAreErrors() throws {
        for text in [
            "nope: 1", "- a\n- b", "policy: 3", "policy:\n  - uids: [1]", "policy:\n  - path: a\n    uids: [x]",
        ] {
            let file = try temporaryFile(text)
            #expect(throws: SecretError.self, "\(text)") {
                let config = try ConfigFile.load(file)
                _ = try config.policy()
            }
        }
    }

    @Test func policyRulesAreRead() throws {
        let file = try temporaryFile(
            """
            policy:
              - path: "billing/**"
                uids: [1001]
                gids: [50]
                executables: ["/usr/bin/cat"]
              - path: "*"
            """)
        let policy = try #require(try ConfigFile.load(file).policy())
        #expect(policy.rules.count == 2)
        #expect(policy.rules[0].uids == [1001] && policy.rules[0].gids == [50])
        #expect(policy.rules[0].executables == ["/usr/bin/cat"])
    }

    @Test func statusSummaryNamesTheFigures() {
        let lines = StatusSummary.lines([
            "backend": "vault", "address": "http://v", "healthy": false, "health_detail": "sealed",
            "uptime_seconds": 3725.0, "cache": ["entries": 2, "hits": 5, "misses": 1, "hit_rate": 0.8333],
            "errors_by_kind": ["unavailable": 3], "last_errors": [["time": "t", "kind": "unavailable", "path": "a/b"]],
        ])
        #expect(lines.contains { $0.contains("UNHEALTHY sealed") })
        #expect(lines.contains { $0.contains("1h02m05s") })
        #expect(lines.contains { $0.contains("hit rate 83.3%") })
        #expect(lines.contains { $0.contains("unavailable 3") })
        #expect(lines.contains { $0.contains("a/b") })
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-\(UUID().uuidString).yaml")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
