import Foundation
import SecretStoreConformance
import SecretsCore
import SecretsHTTP
import Testing

@testable import SecretsBackendAWS

/// Reads, listings, versions and rotation against the shared moto; each test under its own prefix.
@Suite(.needs(.moto)) struct AWSStoreBehaviourTests {
    @Test func stringsAndBinaryReadBackExactly() async throws {
        let store = try await makeStore(prefix: uniquePrefix("content"))
        defer { Task { await store.shutdown() } }
        let text = Array("line one\nline two, no newline at the end".utf8)
        let binary: [UInt8] = [0, 1, 2, 0xff, 0xfe, 0x80, 0x0a]
        let v1 = try await store.write(path("text"), content: .value(SecretValue(bytes: text)))
        _ = try await store.write(path("bin"), content: .value(SecretValue(bytes: binary)))

        let readText = try await store.read(path("text"))
        #expect(value(readText) == text)
        #expect(readText.version == v1.id)
        #expect(readText.createdAt != nil)
        #expect(value(try await store.read(path("bin"))) == binary)

        // What was sent: SecretString for text, SecretBinary for bytes that are not UTF-8.
        let name = try store.awsName(path("bin"))
        let raw = try await store.client.call(
            "GetSecretValue", SM.GetSecretValue(SecretId: name, VersionStage: "AWSCURRENT"),
            as: SM.SecretValueAnswer.self)
        #expect(raw.SecretString == nil && raw.SecretBinary != nil)
    }

    @Test func jsonIsRawOrExpanded() async throws {
        let prefix = uniquePrefix("json")
        let raw = try await makeStore(prefix: prefix, expand: false)
        let expanded = try await makeStore(prefix: prefix, expand: true)
        defer {
            Task {
                await raw.shutdown(); await expanded.shutdown()
            }
        }

        let json = #"{"username":"app","password":"json-pw-1c9e"}"#
        _ = try await raw.write(path("db"), content: .value(SecretValue(string: json)))
        _ = try await raw.write(path("nested"), content: .value(SecretValue(string: #"{"a":{"b":"c"},"n":1}"#)))

        #expect(value(try await raw.read(path("db"))) == Array(json.utf8))
        guard case .fields(let fields) = try await expanded.read(path("db")).content else {
            Issue.record("expanded JSON reads as fields")
            return
        }
        #expect(fields.keys.sorted() == ["password", "username"])
        #expect(fields["password"] == SecretValue(string: "json-pw-1c9e"))
        // Not a flat object of strings: stays a file even when expanding.
        #expect(value(try await expanded.read(path("nested"))) == Array(#"{"a":{"b":"c"},"n":1}"#.utf8))

        // Fields written come back as a JSON object in SecretString.
        _ = try await expanded.write(path("written"), content: .fields(["k": SecretValue(string: "v/1")]))
        #expect(value(try await raw.read(path("written"))) == Array(#"{"k":"v/1"}"#.utf8))
    }

    @Test func listingTakesEveryPageAndSkipsUnshowableNames() async throws {
        let prefix = uniquePrefix("pages")
        let capture = LogCapture()
        let store = try await makeStore(
            prefix: prefix, logger: capture.logger(),
            tuning: AWSSecretStore.Tuning(listPageSize: 4, retryPolicy: RetryPolicy()))
        defer { Task { await store.shutdown() } }
        for index in 0..<11 {
            _ = try await store.write(path("item\(index)"), content: .value(SecretValue(string: "v\(index)")))
        }
        _ = try await store.write(path("team/app/key"), content: .value(SecretValue(string: "deep")))
        // Names the mount cannot show, made through the same signed client.
        for bad in ["\(prefix)/.hidden", "\(prefix)/double//slash"] {
            let _: SM.VersionAnswer = try await store.client.call(
                "CreateSecret",
                SM.WriteValue(Name: bad, ClientRequestToken: UUID().uuidString, SecretString: "x"))
        }

        let root = try await store.list(.root)
        #expect(root.secrets == Set((0..<11).map { "item\($0)" }))
        #expect(root.folders == ["team"])
        #expect(try await store.list(path("team")) == Listing(folders: ["app"]))
        #expect(try await store.list(path("team/app")) == Listing(secrets: ["key"]))
        #expect(try await store.list(path("no/such/folder")).isEmpty)
        _ = try await store.list(.root)
        let skipped = capture.all.filter { $0.contains("not a valid path") }
        #expect(skipped.count == 2, "each unshowable name is logged once")

        // A store without the prefix sees this one's secrets as a folder, across pages too.
        let unprefixed = try await makeStore(prefix: nil, tuning: AWSSecretStore.Tuning(listPageSize: 7))
        defer { Task { await unprefixed.shutdown() } }
        #expect(try await unprefixed.list(.root).folders.contains(prefix))
        #expect(try await unprefixed.list(path(prefix)).secrets.count == 11)
    }

    @Test func versionsCarryStagesAndLabels() async throws {
        let store = try await makeStore(prefix: uniquePrefix("versions"))
        defer { Task { await store.shutdown() } }
        let target = path("api_key")
        let v1 = try await store.write(target, content: .value(SecretValue(string: "first-value-aa11")))
        let v2 = try await store.write(target, content: .value(SecretValue(string: "second-value-bb22")))

        var versions = try await store.versions(of: target)
        #expect(versions.map(\.id) == [v1.id, v2.id])
        #expect(Set(versions[0].labels) == ["AWSPREVIOUS", "previous"])
        #expect(Set(versions[1].labels) == ["AWSCURRENT", "current"])

        let rotated = try await store.rotate(RotationRequest(path: target) { SecretValue(string: "unused") })
        #expect(rotated.oldVersion == v2.id)
        versions = try await store.versions(of: target)
        #expect(versions.last?.id == rotated.newVersion)
        let previous = versions.first { $0.labels.contains("AWSPREVIOUS") }
        #expect(previous?.id == v2.id, "after a rotation AWSPREVIOUS is the old version")
        #expect(previous?.labels.contains("previous") == true)

        #expect(value(try await store.read(target, version: v1.id)) == Array("first-value-aa11".utf8))
        #expect(value(try await store.read(target, version: "previous")) == Array("second-value-bb22".utf8))
        #expect(value(try await store.read(target, version: "AWSPREVIOUS")) == Array("second-value-bb22".utf8))
        #expect(try await store.read(target, version: "current").version == rotated.newVersion)

        await expectError(.notFound) { _ = try await store.read(target, version: UUID().uuidString) }
        await expectError(.notFound) { _ = try await store.read(target, version: "no-such-label") }
    }

    @Test func rotationWithoutLambdaUsesRandomPasswordAndIsIdempotent() async throws {
        let store = try await makeStore(prefix: uniquePrefix("rotate"))
        defer { Task { await store.shutdown() } }
        let target = path("db/password")
        let old = try await store.write(target, content: .value(SecretValue(string: "old-password-cc33")))

        let token = UUID().uuidString.lowercased()
        let request = RotationRequest(path: target) { SecretValue(string: "never-used-generator") }
        let first = try await store.rotate(request, token: token)
        #expect(first.oldVersion == old.id)
        #expect(first.newVersion == token)
        let fresh = try #require(value(try await store.read(target)))
        #expect(fresh.count == 32)
        #expect(fresh.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        #expect(fresh != Array("never-used-generator".utf8))

        let countAfterFirst = try await store.versions(of: target).count
        let again = try await store.rotate(request, token: token)
        #expect(again.newVersion == first.newVersion)
        #expect(again.oldVersion == old.id)
        #expect(try await store.versions(of: target).count == countAfterFirst, "a retried rotation makes no version")
        #expect(value(try await store.read(target)) == fresh)
        #expect(value(try await store.read(target, version: "AWSPREVIOUS")) == Array("old-password-cc33".utf8))
    }

    @Test func fieldRotationKeepsOtherFieldsInRawMode() async throws {
        let store = try await makeStore(prefix: uniquePrefix("fieldrot"), expand: false)
        defer { Task { await store.shutdown() } }
        let target = path("db")
        _ = try await store.write(
            target, content: .value(SecretValue(string: #"{"user":"keep-me","password":"old-dd44"}"#)))
        let result = try await store.rotate(
            RotationRequest(path: target, field: "password") { SecretValue(string: "x") })
        #expect(result.field == "password")
        let text = try #require(value(try await store.read(target)).map { String(decoding: $0, as: UTF8.self) })
        let object = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(object["user"] == "keep-me")
        #expect(object["password"]?.count == 32)
        await expectError(.notFound) {
            _ = try await store.rotate(RotationRequest(path: target, field: "nope") { SecretValue(string: "x") })
        }
    }

    @Test func missingThingsAreNotFound() async throws {
        let store = try await makeStore(prefix: uniquePrefix("missing"))
        defer { Task { await store.shutdown() } }
        let missing = path("no/such/secret")
        let error = await expectError(.notFound) { _ = try await store.read(missing) }
        #expect(error?.path == missing)
        await expectError(.notFound) { _ = try await store.versions(of: missing) }
        await expectError(.notFound) {
            _ = try await store.rotate(RotationRequest(path: missing) { SecretValue(string: "x") })
        }
        await expectError(.notFound) { _ = try await store.read(.root) }
        #expect(try await store.list(missing).isEmpty)
    }

    @Test func rotationScheduleNeedsAnExistingLambda() async throws {
        let store = try await makeStore(prefix: uniquePrefix("schedule"))
        defer { Task { await store.shutdown() } }
        _ = try await store.write(path("s"), content: .value(SecretValue(string: "v")))
        let lambda = "arn:aws:lambda:us-east-1:123456789012:function:no-such-rotator"
        await expectError(.invalidArgument) {
            try await store.setRotationSchedule(path("s"), every: .seconds(90), lambdaARN: lambda)
        }
        await expectError(.invalidArgument) {
            try await store.setRotationSchedule(path("s"), every: .seconds(86_400), lambdaARN: "not-an-arn")
        }
        // moto checks the Lambda exists, as AWS does.
        await expectError(.notFound) {
            try await store.setRotationSchedule(path("s"), every: .seconds(30 * 86_400), lambdaARN: lambda)
        }
    }

    @Test func healthAndDescriptor() async throws {
        let prefix = uniquePrefix("health")
        let store = try await makeStore(prefix: prefix)
        defer { Task { await store.shutdown() } }
        let report = await store.health()
        #expect(report.healthy, "\(report.detail)")
        #expect(store.descriptor.backend == "aws")
        #expect(store.descriptor.address.contains(try motoEndpoint()))
        #expect(store.descriptor.address.contains("us-east-1"))
        #expect(store.descriptor.address.contains(prefix))
        #expect(store.descriptor.capabilities == [.versions, .write, .rotate, .versionListing])
        #expect(!store.descriptor.address.contains(plantedSecretKey))
        #expect(!report.detail.contains(plantedSecretKey))
    }
}
