import Foundation
import Logging
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

func makeSSMStore(
    endpoint: String? = nil, prefix: String?, environment: [String: String] = baseEnvironment(),
    logger: Logger = Logger(label: "test.ssm")
) async throws -> SSMParameterStore {
    var options = AWSOptions()
    options.endpoint = try endpoint ?? motoEndpoint()
    options.ssmPrefix = prefix
    options.timeout = .seconds(30)
    return try await SSMParameterStore.connect(
        options: options, environment: environment, homeDirectory: "/nonexistent-home", logger: logger)
}

/// boto3 (a real client) on moto's SSM: what a user's own tooling would have written.
func ssm(_ endpoint: String, _ code: String) async throws -> String {
    try await boto3("ssm", endpoint, code)
}

/// `code` run with `client` bound to boto3's client for `service` on moto; its standard output.
func boto3(_ service: String, _ endpoint: String, _ code: String) async throws -> String {
    let script = """
        import boto3, sys, json
        client = boto3.client("\(service)", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id="AKIAPLANTEDTESTKEY01", aws_secret_access_key="x")
        ssm = sm = client
        \(code)
        """
    let run = try await ProgramRun.run("/usr/bin/env", ["python3", "-c", script, endpoint])
    let (status, output) = (run.status, run.output)
    guard status == 0 else { throw TestSetupError(description: "boto3 \(service) script failed (\(status))") }
    return output
}

@Suite(.needs(.moto)) struct SSMParameterStoreTests {
    @Test func passesTheStoreConformanceSuite() async throws {
        let prefix = "/" + uniquePrefix("ssm-conf")
        let store = try await makeSSMStore(prefix: prefix)
        let seeded: [SecretPath: [UInt8]] = [
            path("alpha"): Array("ssm-conformance-alpha-1c2d".utf8),
            path("a/b/c"): Array("ssm-conformance-nested-9e8f".utf8),
        ]
        for (secretPath, bytes) in seeded {
            _ = try await store.write(secretPath, content: .value(SecretValue(bytes: bytes)))
        }
        await StoreConformance.run(
            ConformanceFixture(store: store, seeded: seeded, scratch: path("scratch"), textOnly: true))
        #expect(store.descriptor.backend == "ssm")
        await store.shutdown()
    }

    @Test func anUnshowableNameIsLoggedAsItsFirst64CharactersAndLength() async throws {
        let endpoint = try motoEndpoint()
        let prefix = "/" + uniquePrefix("ssm-long")
        // A segment over 255 bytes cannot be a file name; SSM takes names up to 1011 characters.
        let long = String(repeating: "n", count: 300)
        _ = try await ssm(endpoint, "ssm.put_parameter(Name='\(prefix)/\(long)', Value='x', Type='String')")
        let capture = LogCapture()
        let store = try await makeSSMStore(prefix: prefix, logger: capture.logger())
        defer { Task { await store.shutdown() } }
        #expect(try await store.list(.root).isEmpty)
        let lines = capture.all.filter { $0.contains("not a valid path") }
        #expect(lines.count == 1)
        #expect(lines.allSatisfy { !$0.contains(String(repeating: "n", count: 65)) && $0.contains("bytes=300") })
    }

    @Test func typesVersionsLabelsAndSelectors() async throws {
        let endpoint = try motoEndpoint()
        let prefix = "/" + uniquePrefix("ssm-types")
        _ = try await ssm(
            endpoint,
            """
            p = "\(prefix)"
            ssm.put_parameter(Name=p + "/db/password", Value="ssm-secure-first-01", Type="SecureString")
            ssm.put_parameter(Name=p + "/db/password", Value="ssm-secure-second-02", Type="SecureString", Overwrite=True)
            ssm.put_parameter(Name=p + "/db/password", Value="ssm-secure-third-003", Type="SecureString", Overwrite=True)
            ssm.label_parameter_version(Name=p + "/db/password", ParameterVersion=1, Labels=["golden"])
            ssm.put_parameter(Name=p + "/hosts", Value="a,b,c", Type="StringList")
            ssm.put_parameter(Name=p + "/plain", Value="plain-text", Type="String")
            """)
        let store = try await makeSSMStore(prefix: prefix)
        #expect(value(try await store.read(path("db/password"))) == Array("ssm-secure-third-003".utf8))
        #expect(value(try await store.read(path("hosts"))) == Array("a,b,c".utf8))
        #expect(value(try await store.read(path("plain"))) == Array("plain-text".utf8))
        #expect(value(try await store.read(path("db/password"), version: "1")) == Array("ssm-secure-first-01".utf8))
        #expect(
            value(try await store.read(path("db/password"), version: "golden")) == Array("ssm-secure-first-01".utf8))
        #expect(
            value(try await store.read(path("db/password"), version: "previous")) == Array("ssm-secure-second-02".utf8))
        let versions = try await store.versions(of: path("db/password"))
        #expect(versions.map(\.id) == ["1", "2", "3"])
        #expect(versions[0].labels.contains("golden"))
        #expect(versions[2].labels.contains(VersionInfo.current) && versions[1].labels.contains(VersionInfo.previous))
        let root = try await store.list(.root)
        #expect(root.secrets == ["hosts", "plain"] && root.folders == ["db"])
        await #expect {
            _ = try await store.read(path("db/password"), version: "9")
        } throws: { ($0 as? SecretError)?.code == .notFound }
        await #expect {
            _ = try await store.read(path("missing"))
        } throws: { ($0 as? SecretError)?.code == .notFound }
        await store.shutdown()
    }

    @Test func aListingBringsTheFolderValuesAndTheCacheKeepsThem() async throws {
        let endpoint = try motoEndpoint()
        let prefix = "/" + uniquePrefix("ssm-warm")
        _ = try await ssm(
            endpoint,
            """
            p = "\(prefix)"
            ssm.put_parameter(Name=p + "/app/one", Value="ssm-warm-value-one-1", Type="SecureString")
            ssm.put_parameter(Name=p + "/app/two", Value="ssm-warm-value-two-2", Type="String")
            ssm.put_parameter(Name=p + "/app/deeper/three", Value="ssm-warm-value-three", Type="String")
            """)
        let store = try await makeSSMStore(prefix: prefix)
        let answer = try await store.listWithCurrent(path("app"))
        let (listing, current) = (answer.listing, answer.current)
        #expect(listing.secrets == ["one", "two"] && listing.folders == ["deeper"])
        #expect(current.keys.sorted() == ["one", "two"], "the folder's own parameters, not the deeper ones")
        #expect(current["one"].flatMap(value) == Array("ssm-warm-value-one-1".utf8), "a SecureString decrypted")
        #expect(current["two"]?.version == "1")
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: .seconds(300)), logger: Logger(label: "test.ssm"))
        _ = try await cache.list(path("app"))
        let before = await cache.statistics().backendCalls
        #expect(value(try await cache.read(path("app/two"))) == Array("ssm-warm-value-two-2".utf8))
        #expect(value(try await cache.read(path("app/one"))) == Array("ssm-warm-value-one-1".utf8))
        #expect(await cache.statistics().backendCalls == before, "read from what the listing brought")
        await cache.shutdown()
    }

    @Test func rotationKeepsTheTypeAndKey() async throws {
        let endpoint = try motoEndpoint()
        let prefix = "/" + uniquePrefix("ssm-rot")
        _ = try await ssm(
            endpoint,
            """
            ssm.put_parameter(Name="\(prefix)/token", Value="ssm-rotate-before-1", Type="SecureString",
                              KeyId="alias/custom-key")
            """)
        let store = try await makeSSMStore(prefix: prefix)
        let result = try await store.rotate(
            RotationRequest(path: path("token"), length: 24) { SecretValue(string: "ssm-rotated-value-000002") })
        #expect(result.oldVersion == "1" && result.newVersion == "2")
        #expect(value(try await store.read(path("token"))) == Array("ssm-rotated-value-000002".utf8))
        let described = try await ssm(
            endpoint,
            """
            d = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["\(prefix)/token"]}])
            print(json.dumps([d["Parameters"][0]["Type"], d["Parameters"][0].get("KeyId")]))
            """)
        #expect(described.contains("SecureString") && described.contains("alias/custom-key"))
        await #expect {
            _ = try await store.rotate(RotationRequest(path: path("token"), field: "x") { SecretValue(string: "y") })
        } throws: { ($0 as? SecretError)?.code == .invalidArgument }
        await store.shutdown()
    }

    @Test func signaturesAreCheckedAndAWrongKeyIsDenied() async throws {
        let moto = try await OwnMoto.start()
        defer { moto.stop() }
        let (keyID, secretKey) = try await AWSAuthAndFailureTests.enableAuth(on: moto)
        let good = try await makeSSMStore(
            endpoint: moto.endpoint, prefix: "/auth",
            environment: baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secretKey]))
        _ = try await good.write(path("token"), content: .value(SecretValue(string: "ssm-auth-planted-77")))
        #expect(value(try await good.read(path("token"))) == Array("ssm-auth-planted-77".utf8))
        await good.shutdown()
        let bad = try await makeSSMStore(
            endpoint: moto.endpoint, prefix: "/auth",
            environment: baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": "wrong"]))
        let error = await expectError(.permissionDenied, { _ = try await bad.read(path("token")) })
        #expect(error.map { !$0.description.contains("ssm-auth-planted-77") } == true)
        await bad.shutdown()
    }
}
