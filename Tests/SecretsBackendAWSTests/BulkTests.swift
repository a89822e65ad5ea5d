import Foundation
import Logging
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendAWS

/// boto3 (a real client) on moto's Secrets Manager: a change made behind the mount's back.
func secretsManager(_ endpoint: String, _ code: String) async throws {
    _ = try await boto3("secretsmanager", endpoint, code)
}

/// Many secrets per request: BatchGetSecretValue, ListSecrets' version ids, SSM's GetParameters.
@Suite(.needs(.moto)) struct AWSBulkTests {
    @Test func bulkReadsTakeTwentyACallAndAnswerEachSecretOnItsOwn() async throws {
        let store = try await makeStore(prefix: uniquePrefix("bulk"))
        var paths: [SecretPath] = []
        for index in 0..<45 {
            let secretPath = path("app/s\(index)")
            paths.append(secretPath)
            _ = try await store.write(secretPath, content: .value(SecretValue(string: "bulk-value-\(index)")))
        }
        let answer = await store.readMany(paths + [path("app/missing")])
        #expect(answer.requests == 3, "46 secrets: three calls of at most 20")
        #expect(answer.results.count == 46)
        for (index, secretPath) in paths.enumerated() {
            let secret = try answer.results[secretPath]?.get()
            #expect(secret.flatMap(value) == Array("bulk-value-\(index)".utf8))
            #expect(secret?.version == (try await store.read(secretPath)).version)
        }
        guard case .failure(let failure)? = answer.results[path("app/missing")] else {
            Issue.record("a missing secret is a failure of its own")
            return
        }
        #expect(failure.code == .notFound)
        #expect(failure.path == path("app/missing"))
        await store.shutdown()
    }

    @Test func theListingOfVersionsShowsAChangeMadeElsewhere() async throws {
        let endpoint = try motoEndpoint()
        let prefix = uniquePrefix("versions")
        var tuning = AWSSecretStore.Tuning()
        tuning.listPageSize = 2
        let store = try await makeStore(prefix: prefix, tuning: tuning)
        for name in ["a", "b", "deep/c"] {
            _ = try await store.write(path(name), content: .value(SecretValue(string: "first-\(name)")))
        }
        let before = try #require(try await store.currentVersions())
        #expect(before.requests == 2, "three secrets at two a page")
        #expect(Set(before.versions.keys) == [path("a"), path("b"), path("deep/c")])
        for name in ["a", "b", "deep/c"] {
            #expect(before.versions[path(name)] == (try await store.read(path(name))).version)
        }
        try await secretsManager(endpoint, "sm.put_secret_value(SecretId='\(prefix)/b', SecretString='second-b')")
        let after = try #require(try await store.currentVersions())
        #expect(after.versions[path("a")] == before.versions[path("a")])
        #expect(after.versions[path("b")] != before.versions[path("b")])
        #expect(after.versions[path("b")] == (try await store.read(path("b"))).version)
        await store.shutdown()
    }

    @Test func aFreshnessRoundReadsOnlyWhatChanged() async throws {
        let endpoint = try motoEndpoint()
        let prefix = uniquePrefix("fresh")
        let store = try await makeStore(prefix: prefix)
        for name in ["a", "b", "c"] {
            _ = try await store.write(path(name), content: .value(SecretValue(string: "first-\(name)")))
        }
        let logger = Logger(label: "test.aws.fresh")
        let clock = ManualTimeSource()
        let cache = CachingSecretStore(
            upstream: store, policy: CachePolicy(ttl: .seconds(60)), clock: clock, logger: logger)
        for name in ["a", "b", "c"] { _ = try await cache.read(path(name)) }
        try await secretsManager(endpoint, "sm.put_secret_value(SecretId='\(prefix)/c', SecretString='second-c')")
        let calls = await cache.statistics().backendCalls
        let service = FreshnessService(
            cache: cache, prefetch: Prefetch(patterns: []), interval: nil, clock: clock, logger: logger)
        let round = await service.round()
        #expect(round == .init(listed: true, confirmed: 2, fetched: 1, failed: 0))
        #expect(await cache.statistics().backendCalls == calls + 2, "one ListSecrets page, one batch")
        #expect(value(try await cache.read(path("c"))) == Array("second-c".utf8))
        await cache.shutdown()
    }

    @Test func bulkReadsAreSignedAsEveryCall() async throws {
        let moto = try await OwnMoto.start()
        defer { moto.stop() }
        let (keyID, secretKey) = try await AWSAuthAndFailureTests.enableAuth(on: moto)
        let environment = baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secretKey])
        let store = try await makeStore(endpoint: moto.endpoint, prefix: "signed", environment: environment)
        _ = try await store.write(path("one"), content: .value(SecretValue(string: "signed-bulk-one")))
        let answer = await store.readMany([path("one")])
        #expect(try answer.results[path("one")]?.get().content == .value(SecretValue(string: "signed-bulk-one")))
        #expect(try await store.currentVersions()?.versions.keys.sorted() == [path("one")])
        await store.shutdown()

        let wrong = baseEnvironment(["AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": "wrong-\(secretKey)"])
        let bad = try await makeStore(endpoint: moto.endpoint, prefix: "signed", environment: wrong)
        let refused = await bad.readMany([path("one")])
        guard case .failure(let failure)? = refused.results[path("one")] else {
            Issue.record("a wrong key reads nothing")
            return
        }
        #expect(failure.code == .permissionDenied)
        await bad.shutdown()
    }

    @Test func ssmReadsTenACallAndListsVersionsWithoutValues() async throws {
        let prefix = "/" + uniquePrefix("ssm-bulk")
        let store = try await makeSSMStore(prefix: prefix)
        var paths: [SecretPath] = []
        for index in 0..<12 {
            let secretPath = path("p\(index)")
            paths.append(secretPath)
            _ = try await store.write(secretPath, content: .value(SecretValue(string: "ssm-bulk-\(index)")))
        }
        _ = try await store.write(paths[3], content: .value(SecretValue(string: "ssm-bulk-3-again")))
        let answer = await store.readMany(paths + [path("absent")])
        #expect(answer.requests == 2)
        #expect(try answer.results[paths[0]]?.get().content == .value(SecretValue(string: "ssm-bulk-0")))
        #expect(try answer.results[paths[3]]?.get().version == "2")
        guard case .failure(let failure)? = answer.results[path("absent")] else {
            Issue.record("a missing parameter is a failure of its own")
            return
        }
        #expect(failure.code == .notFound)
        let listing = try #require(try await store.currentVersions())
        #expect(listing.versions.count == 12)
        #expect(listing.versions[paths[3]] == "2")
        #expect(listing.versions[paths[0]] == "1")
        await store.shutdown()
    }
}
