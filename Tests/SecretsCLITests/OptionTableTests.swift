import ArgumentParser
import Foundation
import Logging
import SecretsCore
import Testing

@testable import SecretsCLI

/// The option table against the argument parser, the config file, `-o` and the backends: each reads
/// the table, so an option added in one place only would show here.
@Suite struct OptionTableTests {
    /// The part of the argument parser's `--experimental-dump-help` these checks read.
    private struct Dump: Decodable {
        struct Command: Decodable { var arguments: [Argument]? }
        struct Argument: Decodable {
            struct Name: Decodable {
                var kind: String
                var name: String
            }
            var kind: String
            var isRepeating: Bool
            var names: [Name]?
        }
        var command: Command
    }

    /// Every named option and flag of `command`, but the parser's own `--help`, with its kind.
    private func parsed(_ command: any ParsableArguments.Type) throws -> [String: OptionSpec.Kind] {
        let dump = try JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8))
        var kinds: [String: OptionSpec.Kind] = [:]
        for argument in dump.command.arguments ?? [] where argument.kind != "positional" {
            let names = (argument.names ?? []).map(\.name)
            guard !names.contains("help") else { continue }
            let name = try #require(names.first { $0.count > 1 } ?? names.first)
            kinds[name] = argument.kind == "flag" ? .flag : argument.isRepeating ? .list : .value
        }
        return kinds
    }

    @Test func theParserTakesExactlyTheTablesOptionsWithTheirKinds() throws {
        let mount = try parsed(MountCommand.self)
        #expect(Set(mount.keys) == Set(OptionSpec.all.map(\.name)))
        for option in OptionSpec.all {
            #expect(mount[option.name] == option.kind, "\(option.name)")
        }
        // The other subcommands take the backend options and none of mount's.
        let get = try parsed(GetCommand.self)
        for option in OptionSpec.all {
            #expect((get[option.name] != nil) == (option.scope == .everyCommand), "\(option.name)")
        }
        #expect(OptionSpec.backend.allSatisfy { $0.scope == .everyCommand })
        #expect(OptionSpec.mount.allSatisfy { $0.scope == .mountOnly })
    }

    @Test func eachBackendsFlagsAreItsOptionsInOrder() throws {
        // `OptionSpec.givenValues` pairs a backend's specs with its properties by position.
        for backend in Backends.all {
            let flags = try parsed(backend.flagsType)
            #expect(Set(flags.keys) == Set(backend.options.map(\.name)), "\(backend.kinds)")
            let dump = try JSONDecoder().decode(Dump.self, from: Data(backend.flagsType._dumpHelp().utf8))
            let order = (dump.command.arguments ?? []).compactMap { $0.names?.first { $0.name.count > 1 }?.name }
            #expect(order.filter { $0 != "help" } == backend.options.map(\.name), "\(backend.kinds)")
        }
        #expect(Backends.kinds == ["local", "env", "vault", "aws", "ssm"])
    }

    @Test func theFilesTheBackendsReadComeFromTheirMarks() throws {
        let options = try BackendOptions.parse(["--vault-token-file", "/t/token", "--vault-cacert", "/t/ca.pem"])
        let environment = ["VAULT_TOKEN": "a-token", "SECRETSFS_STORE_KEY_FILE": "/t/key", "VAULT_ADDR": "http://v"]
        let files = Backends.filesRead(by: options.backends, environment: environment)
        let named = Dictionary(files.map { ($0.flag, $0.path) }, uniquingKeysWith: { first, _ in first })
        #expect(named["--vault-token-file"] == "/t/token")
        #expect(named["--vault-cacert"] == "/t/ca.pem")
        #expect(named["--store-key-file"] == "/t/key")
        #expect(
            Set(named.keys) == [
                "--store", "--store-key-file", "--vault-token-file", "--vault-secret-id-file",
                "--vault-jwt-file", "--vault-cacert",
            ])
        // A variable that holds the credential itself is never taken for a file's name.
        let tokenOnly = Backends.filesRead(by: try BackendOptions.parse([]).backends, environment: environment)
        #expect(!tokenOnly.contains { $0.path == "a-token" })
    }

    @Test func helpNamesTheVariablesAndTheDefaultsAppliedLater() {
        #expect(
            OptionSpec.vaultAddr.help.abstract
                == "Vault address; an HA cluster's nodes comma-separated or repeated, tried in order (env: VAULT_ADDR)."
        )
        #expect(OptionSpec.awsRegion.help.abstract == "AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).")
        #expect(OptionSpec.backendTimeout.help.abstract == "Deadline of each backend call (default 5s).")
        #expect(OptionSpec.vaultMount.help.abstract == "KV v2 mount (default secret).")
        #expect(
            OptionSpec.backendKind.help.abstract
                == "Backend (env: SECRETSFS_BACKEND; default local; each one's flags: secretsfs help backends).")
        let help = MountCommand.helpMessage(includeHidden: true, columns: 400)
        for option in OptionSpec.all {
            #expect(help.contains(option.flag), "\(option.flag)")
        }
        #expect(help.contains("(default: 300s)") && help.contains("(default: 24h)") && help.contains("(default: 10s)"))
        // Each default once: the parser prints a property's own, the table only the others (issue 25 item 13).
        for command in [MountCommand.self, GetCommand.self, PutCommand.self] as [any ParsableCommand.Type] {
            let text = command.helpMessage(includeHidden: true, columns: 400)
            for line in text.split(separator: "\n") {
                #expect(line.components(separatedBy: "default").count <= 2, "\(line)")
            }
        }
    }

    @Test func everyKeyOfTheTableIsAConfigKeyButConfigItself() throws {
        for option in OptionSpec.all where option.inConfigFile {
            let value = option.kind == .flag ? "true" : "x"
            #expect(throws: Never.self, "\(option.name)") {
                try ConfigFile.load(try temporaryFile("\(option.name): \(value)"))
            }
        }
        #expect(throws: SecretError.self) { try ConfigFile.load(try temporaryFile("config: /elsewhere.yaml")) }
    }

    @Test func anyOfAnOptionsVariablesKeepsTheFilesValueOut() throws {
        let file = try temporaryFile("aws-region: eu-north-1\nlog-format: json\n")
        let config = try ConfigFile.load(file)
        for variable in OptionSpec.awsRegion.environment {
            let added = try config.arguments(for: "ls", given: ["ls"], environment: [variable: "us-east-1"])
            #expect(!added.contains("--aws-region"), "\(variable)")
            #expect(added.contains("--log-format"))
        }
        #expect(try config.arguments(for: "ls", given: ["ls"], environment: [:]).contains("--aws-region"))
        // Set to nothing still counts as set, as it always has.
        #expect(
            !(try config.arguments(for: "ls", given: ["ls"], environment: ["AWS_REGION": ""]).contains("--aws-region")))
    }

    @Test func mountHelperOptionsTakeTheirKindFromTheTable() throws {
        let argv = try ArgumentRewriter.fromMountHelper(
            [
                "aws", "/mnt", "-o",
                "vault_skip_verify,show_versions=true,mlock=false,env_include=A_*,o=x,config=/c.yaml",
            ])
        #expect(
            argv == [
                "mount", "/mnt", "--backend", "aws", "--vault-skip-verify", "--show-versions", "--env-include", "A_*",
                "--config", "/c.yaml", "-o", "o=x", "--daemon",
            ])
    }

    @Test func aDeadlineNotAboveZeroIsRefusedAlikeByEveryBackend() async throws {
        let environments: [BackendKind: [String: String]] = [
            .vault: ["VAULT_ADDR": "http://127.0.0.1:9", "VAULT_TOKEN": "t", "HOME": "/nonexistent"],
            BackendKind(rawValue: "aws")!: [
                "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "HOME": "/nonexistent",
            ],
        ]
        for (kind, environment) in environments {
            for timeout in [Duration.zero, .seconds(-1)] {
                var options = try BackendOptions.parse(["--backend", kind.rawValue])
                options.backendTimeout = DurationArgument(timeout)
                let factory = StoreFactory(options: options, environment: environment, logger: Logger(label: "test"))
                do {
                    let store = try await factory.makeStore()
                    await store.shutdown()
                    Issue.record("\(kind) took a deadline of \(timeout)")
                } catch let error as SecretError {
                    #expect(error.code == .configuration, "\(kind)")
                    #expect(error.message == BackendTimeout.refusal, "\(kind)")
                }
            }
        }
        // The flag says it in the same words, as a usage error.
        for text in ["0", "0s"] {
            do {
                _ = try BackendOptions.parse(["--backend-timeout", text])
                Issue.record("--backend-timeout \(text) was taken")
            } catch {
                #expect(BackendOptions.exitCode(for: error) == .validationFailure)
                #expect(BackendOptions.message(for: error) == BackendTimeout.refusal)
            }
        }
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secretsfs-\(UUID().uuidString).yaml")
            .path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
