import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendLocal

/// Reads, versions, writes and rotation of one store.
@Suite struct LocalStoreBehaviourTests {
    @Test func versionsCountFromOneWithTheirCreationTimes() async throws {
        let clock = ManualTimeSource()
        try await withTemporaryStore(clock: clock) { store, _ in
            let path = try SecretPath("svc/key")
            let start = clock.wallNow()
            for index in 1...3 {
                let info = try await store.write(path, content: .value(SecretValue(string: "v\(index)")))
                #expect(info.id == "\(index)")
                #expect(info.createdAt == clock.wallNow())
                clock.advance(by: .seconds(60))
            }
            let versions = try await store.versions(of: path)
            #expect(versions.map(\.id) == ["1", "2", "3"])
            #expect(versions.map(\.createdAt) == [0, 60, 120].map { start.addingTimeInterval($0) })
            #expect(versions.map(\.labels) == [[], [VersionInfo.previous], [VersionInfo.current]])
            let current = try await store.read(path)
            #expect(current.version == "3")
            #expect(current.createdAt == start.addingTimeInterval(120))
            #expect(try await value(of: store.read(path, version: "2")) == SecretValue(string: "v2"))
        }
    }

    @Test func missingThingsAreNotFound() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("svc/key")
            _ = try await store.write(path, content: .value(SecretValue(string: "v")))
            for version in ["0", "2", "01", "abc", "", "-1", "1.0"] {
                #expect(await errorCode { _ = try await store.read(path, version: version) } == .notFound)
            }
            #expect(await errorCode { _ = try await store.read(try SecretPath("svc")) } == .notFound)
            #expect(await errorCode { _ = try await store.read(.root) } == .notFound)
            #expect(await errorCode { _ = try await store.versions(of: try SecretPath("nope")) } == .notFound)
            #expect(try await store.list(try SecretPath("nope/deeper")).isEmpty)
        }
    }

    @Test func listsChildrenOfEachFolder() async throws {
        try await withTemporaryStore { store, _ in
            for path in ["a/b/c", "a/b/d", "a/e", "a", "f", "ab/x"] {
                _ = try await store.write(try SecretPath(path), content: .value(SecretValue(string: "x")))
            }
            #expect(try await store.list(.root) == Listing(secrets: ["a", "f"], folders: ["a", "ab"]))
            #expect(try await store.list(try SecretPath("a")) == Listing(secrets: ["e"], folders: ["b"]))
            #expect(try await store.list(try SecretPath("a/b")) == Listing(secrets: ["c", "d"]))
            #expect(try await store.list(try SecretPath("a/b/c")).isEmpty)
        }
    }

    @Test func aListingBringsTheCurrentSecretsOfItsFolderInOneQuery() async throws {
        try await withTemporaryStore { store, _ in
            for path in ["a/b/c", "a/e", "a", "f", "ab/x"] {
                _ = try await store.write(try SecretPath(path), content: .value(SecretValue(string: "1 \(path)")))
            }
            _ = try await store.write(try SecretPath("a/e"), content: .value(SecretValue(string: "2 a/e")))
            _ = try await store.write(
                try SecretPath("a/db"),
                content: .fields(["user": SecretValue(string: "u"), "pw": SecretValue(string: "p")]))
            for folder in [SecretPath.root, try SecretPath("a"), try SecretPath("a/b"), try SecretPath("nope")] {
                let answer = try await store.listWithCurrent(folder)
                let (listing, current) = (answer.listing, answer.current)
                #expect(listing == (try await store.list(folder)))
                #expect(Set(current.keys) == listing.secrets, "every secret directly in \(folder), nothing deeper")
                for (name, secret) in current {
                    #expect(secret == (try await store.read(try folder.appending(name))))
                }
            }
            #expect(try await store.listWithCurrent(try SecretPath("a")).current["e"]?.version == "2")
        }
    }

    @Test func invalidStoredNamesAreSkippedNotFatal() async throws {
        try await withTemporaryStore { store, _ in
            _ = try await store.write(try SecretPath("good/one"), content: .value(SecretValue(string: "x")))
            // Rows a hand edit (or another tool) could leave: none of them is a showable path.
            for bad in [".hidden/x", "good/.dot", "good//empty", "good/", "/abs", "trailing/../up"] {
                _ = try await store.query(
                    "test", "INSERT INTO secrets (path, current_version) VALUES (?1, 1)", [.text(bad)])
            }
            #expect(try await store.list(.root) == Listing(folders: ["good"]))
            #expect(try await store.list(try SecretPath("good")) == Listing(secrets: ["one"]))
            #expect(try await store.list(try SecretPath("trailing")).isEmpty)
        }
    }

    @Test func refusesWritesThatCannotBeShown() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("x")
            #expect(
                await errorCode { _ = try await store.write(.root, content: .value(SecretValue(string: "v"))) }
                    == .invalidArgument)
            #expect(await errorCode { _ = try await store.write(path, content: .fields([:])) } == .invalidArgument)
            #expect(
                await errorCode {
                    _ = try await store.write(path, content: .fields([".hidden": SecretValue(string: "v")]))
                } == .invalidArgument)
            #expect(await errorCode { _ = try await store.read(path) } == .notFound)
        }
    }

    @Test func aSingleValueFieldMapStaysAMap() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("m")
            let content = SecretContent.fields(["value": SecretValue(string: "only")])
            _ = try await store.write(path, content: content)
            #expect(try await store.read(path).content == content)
        }
    }

    @Test func rotatingAFieldKeepsTheOthers() async throws {
        try await withTemporaryStore { store, _ in
            let path = try SecretPath("db")
            let user = SecretValue(string: "admin")
            let oldPassword = SecretValue(string: "old-password")
            _ = try await store.write(path, content: .fields(["username": user, "password": oldPassword]))
            let generator = PasswordGenerator()
            let result = try await store.rotate(RotationRequest(path: path, field: "password") { generator.generate() })
            #expect(result == RotationResult(path: path, field: "password", oldVersion: "1", newVersion: "2"))
            guard case .fields(let fields) = try await store.read(path).content else {
                Issue.record("rotated secret is no longer a map")
                return
            }
            #expect(Set(fields.keys) == ["username", "password"])
            #expect(fields["username"] == user)
            #expect(fields["password"] != oldPassword)
            #expect(fields["password"]?.count == 32)
            #expect(
                try await store.read(path, version: "1").content
                    == .fields(["username": user, "password": oldPassword]))
        }
    }

    @Test func rotationErrorsChangeNothing() async throws {
        try await withTemporaryStore { store, _ in
            let plain = try SecretPath("plain")
            let multi = try SecretPath("multi")
            _ = try await store.write(plain, content: .value(SecretValue(string: "p")))
            _ = try await store.write(
                multi, content: .fields(["a": SecretValue(string: "1"), "b": SecretValue(string: "2")]))
            let fresh: @Sendable () -> SecretValue = { SecretValue(string: "fresh") }
            #expect(
                await errorCode {
                    _ = try await store.rotate(RotationRequest(path: plain, field: "f", generate: fresh))
                }
                    == .notFound)
            #expect(
                await errorCode { _ = try await store.rotate(RotationRequest(path: multi, generate: fresh)) }
                    == .invalidArgument)
            #expect(
                await errorCode {
                    _ = try await store.rotate(RotationRequest(path: multi, field: "c", generate: fresh))
                }
                    == .notFound)
            #expect(try await store.versions(of: plain).count == 1)
            #expect(try await store.versions(of: multi).count == 1)
        }
    }

    @Test func aShutDownStoreIsUnavailable() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = try await LocalSecretStore.open(path: folder.storePath, logger: testLogger)
        #expect(await store.health().healthy)
        await store.shutdown()
        #expect(await errorCode { _ = try await store.read(try SecretPath("x")) } == .unavailable)
        #expect(await store.health().healthy == false)
    }
}
