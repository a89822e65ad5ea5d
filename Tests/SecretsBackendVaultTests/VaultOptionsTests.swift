// Resolving options against the environment, and the JSON the store writes; no server needed.
import Foundation
import SecretsCore
import Testing

@testable import SecretsBackendVault

@Suite("Vault options and encoding")
struct VaultOptionsTests {
    private func resolve(
        _ configure: (inout VaultOptions) -> Void = { _ in },
        environment: [String: String] = ["VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "t"],
        home: String = "/nonexistent"
    ) throws(SecretError) -> VaultConfiguration {
        var options = VaultOptions()
        configure(&options)
        return try VaultConfiguration.resolve(options, environment: environment, homeDirectory: home)
    }

    private func configurationError(_ body: () throws(SecretError) -> VaultConfiguration) -> String? {
        do {
            _ = try body()
            Issue.record("expected a configuration error")
            return nil
        } catch {
            #expect(error.code == .configuration)
            return error.message
        }
    }

    @Test func defaultsAndFlagsWinOverEnvironment() throws {
        let defaults = try resolve()
        #expect(defaults.addresses == ["http://127.0.0.1:8200"])
        #expect(defaults.mount == ["secret"])
        #expect(defaults.prefix == [])
        #expect(defaults.namespace == nil)
        #expect(defaults.timeout == .seconds(5))
        #expect(defaults.skipVerify == false)
        #expect(defaults.displayAddress == "http://127.0.0.1:8200/v1/secret")

        let environment = [
            "VAULT_ADDR": "http://env:8200", "VAULT_TOKEN": "t", "VAULT_NAMESPACE": "env-ns",
            "VAULT_CACERT": "/env/ca.pem", "VAULT_SKIP_VERIFY": "true",
        ]
        let fromEnvironment = try resolve(environment: environment)
        #expect(fromEnvironment.addresses == ["http://env:8200"])
        #expect(fromEnvironment.namespace == "env-ns")
        #expect(fromEnvironment.caCertFile == "/env/ca.pem")
        #expect(fromEnvironment.skipVerify)

        let flags = try resolve(
            {
                $0.address = "https://flag:8200/"
                $0.namespace = "/team/a/"
                $0.caCertFile = "/flag/ca.pem"
                $0.skipVerify = false
                $0.mount = "kv/"
                $0.prefix = "apps//one"
            }, environment: environment)
        #expect(flags.addresses == ["https://flag:8200"])
        #expect(flags.namespace == "team/a")
        #expect(flags.caCertFile == "/flag/ca.pem")
        #expect(flags.skipVerify == false)
        #expect(flags.mount == ["kv"])
        #expect(flags.prefix == ["apps", "one"])
        #expect(flags.displayAddress == "https://flag:8200/v1/team/a/kv/apps/one")
    }

    @Test func severalAddressesAreKeptInOrderOnceEach() throws {
        let list = try resolve { $0.address = "http://a:8200, https://b:8200/,http://a:8200,http://C:8200" }
        #expect(list.addresses == ["http://a:8200", "https://b:8200", "http://C:8200"])
        #expect(list.displayAddress == "http://a:8200,https://b:8200,http://C:8200/v1/secret")
        let fromEnvironment = try resolve(environment: ["VAULT_ADDR": "http://x:1,http://y:2", "VAULT_TOKEN": "t"])
        #expect(fromEnvironment.addresses == ["http://x:1", "http://y:2"])
        // One bad entry refuses the whole list: a node dropped in silence is a node never tried.
        let empty = configurationError { () throws(SecretError) in try resolve { $0.address = "http://a:1,,http://b:2" }
        }
        #expect(empty?.contains("empty entry") == true)
        let bad = configurationError { () throws(SecretError) in try resolve { $0.address = "http://a:1,b:2" } }
        #expect(bad == "the Vault address is not an http:// or https:// URL")
    }

    @Test func redirectsAreFollowedOnlyToAConfiguredNode() {
        let nodes = VaultNodes(["http://a:8200", "https://B:8200", "http://c"])
        #expect(nodes.node(forRedirectTo: "http://a:8200/v1/secret/data/x") == 0)
        #expect(nodes.node(forRedirectTo: "https://b:8200/v1/sys/health") == 1)
        #expect(nodes.node(forRedirectTo: "http://c:80/v1/x") == 2)
        // Another host, scheme or port, a relative location or none: not followed.
        #expect(nodes.node(forRedirectTo: "http://evil:8200/v1/secret/data/x") == nil)
        #expect(nodes.node(forRedirectTo: "http://b:8200/v1/x") == nil)
        #expect(nodes.node(forRedirectTo: "http://a:8201/v1/x") == nil)
        #expect(nodes.node(forRedirectTo: "/v1/secret/data/x") == nil)
        #expect(nodes.node(forRedirectTo: nil) == nil)
        #expect(nodes.next(after: 2) == 0)
        #expect(nodes.preferred == 0)
        #expect(nodes.answered(by: 1) && !nodes.answered(by: 1))
        #expect(nodes.preferredAddress == "https://B:8200")
    }

    @Test func aWritesIndexIsSentBackWithForwarding() {
        let nodes = VaultNodes(["http://a:8200"])
        #expect(nodes.consistencyHeaders().isEmpty, "nothing before the first write")
        nodes.wrote(index: "eyJ2YWx1ZSI6IjEifQ==")
        nodes.wrote(index: nil)
        nodes.wrote(index: "")
        let headers = nodes.consistencyHeaders()
        #expect(headers.map(\.name) == ["X-Vault-Index", "X-Vault-Inconsistent"])
        #expect(headers.map(\.value) == ["eyJ2YWx1ZSI6IjEifQ==", "forward-active-node"])
    }

    @Test func aDeadlineNotAboveZeroIsRefusedAsEveryBackendRefusesIt() throws {
        // It used to be replaced by 5 s without a word, while AWS refused it.
        for timeout in [Duration.zero, .seconds(-3)] {
            let message = configurationError { () throws(SecretError) in try resolve { $0.timeout = timeout } }
            #expect(message == "--backend-timeout must be more than 0 (e.g. 5s)")
            #expect(message == BackendTimeout.refusal)
        }
        #expect(try resolve { $0.timeout = .milliseconds(250) }.timeout == .milliseconds(250))
    }

    @Test func anEmptyVariableCountsAsUnset() throws {
        let message = configurationError { () throws(SecretError) in
            try resolve(environment: ["VAULT_ADDR": "", "VAULT_TOKEN": "t"])
        }
        #expect(message?.contains("VAULT_ADDR") == true)
        let configuration = try resolve(
            environment: [
                "VAULT_ADDR": "http://x:8200", "VAULT_TOKEN": "t", "VAULT_NAMESPACE": "", "VAULT_CACERT": "",
                "VAULT_SKIP_VERIFY": "",
            ])
        #expect(configuration.namespace == nil && configuration.caCertFile == nil && !configuration.skipVerify)
    }

    @Test func tokenSourcesInOrder() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.unique("home")).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let address = ["VAULT_ADDR": "http://127.0.0.1:8200"]

        let missing = configurationError { () throws(SecretError) in try resolve(environment: address, home: home) }
        #expect(missing?.contains("VAULT_TOKEN") == true)

        _ = FileManager.default.createFile(atPath: home + "/.vault-token", contents: Data("from-home\n".utf8))
        guard case .token(.file(let homeFile)) = try resolve(environment: address, home: home).auth else {
            Issue.record("~/.vault-token is used when nothing else is given")
            return
        }
        #expect(homeFile == home + "/.vault-token")
        #expect(try CredentialFile.read(homeFile, what: "token") == SecretValue(string: "from-home"))

        var environment = address
        environment["VAULT_TOKEN"] = "from-env"
        guard case .token(.value(let value)) = try resolve(environment: environment, home: home).auth else {
            Issue.record("VAULT_TOKEN wins over ~/.vault-token")
            return
        }
        #expect(value == SecretValue(string: "from-env"))

        guard
            case .token(.file(let flagFile)) = try resolve({ $0.tokenFile = "/flag/token" }, environment: environment)
                .auth
        else {
            Issue.record("--vault-token-file wins over VAULT_TOKEN")
            return
        }
        #expect(flagFile == "/flag/token")
    }

    @Test func badOptionsNameTheOption() {
        #expect(
            configurationError { () throws(SecretError) in try resolve(environment: [:]) }?.contains("VAULT_ADDR")
                == true)
        #expect(
            configurationError { () throws(SecretError) in
                try resolve(environment: ["VAULT_ADDR": "ftp://x", "VAULT_TOKEN": "t"])
            }?.contains("http") == true)
        #expect(
            configurationError { () throws(SecretError) in
                try resolve(environment: ["VAULT_ADDR": "http://x", "VAULT_TOKEN": "t", "VAULT_SKIP_VERIFY": "maybe"])
            }?.contains("VAULT_SKIP_VERIFY") == true)
        #expect(
            configurationError { () throws(SecretError) in try resolve { $0.auth = "ldap" } }?.contains("--vault-auth")
                == true)
        #expect(
            configurationError { () throws(SecretError) in
                try resolve {
                    $0.auth = "approle"
                    $0.secretIDFile = "/x"
                }
            }?.contains("--vault-role-id") == true)
        #expect(
            configurationError { () throws(SecretError) in
                try resolve {
                    $0.auth = "approle"
                    $0.roleID = "r"
                }
            }?.contains("--vault-secret-id-file") == true)
        #expect(
            configurationError { () throws(SecretError) in try resolve { $0.auth = "jwt" } }?.contains("--vault-role")
                == true)
        #expect(
            configurationError { () throws(SecretError) in
                try resolve {
                    $0.auth = "jwt"
                    $0.role = "r"
                }
            }?.contains("--vault-jwt-file") == true)
    }

    @Test func kubernetesDefaultsToTheServiceAccountToken() throws {
        let configuration = try resolve {
            $0.auth = "kubernetes"
            $0.role = "app"
        }
        guard case .jwt(let kind, let mount, let role, let file) = configuration.auth else {
            Issue.record("kubernetes logs in with a JWT")
            return
        }
        #expect(kind == "kubernetes")
        #expect(mount == "kubernetes")
        #expect(role == "app")
        #expect(file == "/var/run/secrets/kubernetes.io/serviceaccount/token")
    }

    @Test func writeBodyEscapesAndEncodesBinary() throws {
        let body = VaultKV.writeBody(
            [
                "text": .value(SecretValue(string: "a\"b\\c\n\u{1}é")),
                "bin": .value(SecretValue(bytes: [0xFF, 0x00])),
                "port": .json(SecretValue(string: "5432")),
            ], cas: 7)
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect((decoded["options"] as? [String: Any])?["cas"] as? Int == 7)
        let data = try #require(decoded["data"] as? [String: Any])
        #expect(data["text"] as? String == "a\"b\\c\n\u{1}é")
        #expect(data["bin"] as? String == Data([0xFF, 0x00]).base64EncodedString())
        #expect((data["port"] as? NSNumber)?.intValue == 5432)
        #expect(data[VaultKV.base64FieldsKey] as? [String] == ["bin"])
        let fields = try VaultKV.fields(data, "test")
        #expect(fields.values["bin"] == SecretValue(bytes: [0xFF, 0x00]))
        #expect(fields.values["text"] == SecretValue(string: "a\"b\\c\n\u{1}é"))
        #expect(fields.jsonFields == ["port"])
        #expect(fields.values[VaultKV.base64FieldsKey] == nil)
    }

    @Test func datesKeepTheirFraction() throws {
        let date = try #require(VaultKV.date("2026-11-29T03:14:29.090223388Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_795_922_069.090223388) < 0.000_01)
        #expect(VaultKV.date("2026-11-29T03:14:29Z") != nil)
        #expect(VaultKV.date("garbage") == nil)
    }

    @Test func pathSegmentsKeepOnlyUnreservedCharacters() {
        #expect(VaultPaths.encode("db-1.prod_x~") == "db-1.prod_x~")
        #expect(VaultPaths.encode("a b?#%/é") == "a%20b%3F%23%25%2F%C3%A9")
        #expect(VaultPaths.encodePath(["secret", "data", "a b"]) == "secret/data/a%20b")
        #expect(VaultPaths.encode("") == "")
    }
}
