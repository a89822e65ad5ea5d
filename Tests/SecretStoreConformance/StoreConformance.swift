import SecretsCore

/// The promises of `SecretStore`, checked against a real store. Every backend's tests run it
/// (local, env, OpenBao, moto); it throws `ConformanceFailure` at the first broken promise.
public struct ConformanceFixture: Sendable {
    /// The store under test, seeded before the run.
    public var store: any SecretStore
    /// Plain secrets the store was seeded with, and their exact bytes. Include a nested one
    /// (`a/b/c`) and, where the store can hold them, bytes that are not UTF-8.
    public var seeded: [SecretPath: [UInt8]]
    /// A multi-field secret the store was seeded with, where the store has them.
    public var fieldSecret: (path: SecretPath, fields: [String: [UInt8]])?
    /// Where `write` and `rotate` may create secrets; must not exist before the run.
    public var scratch: SecretPath

    public init(
        store: any SecretStore,
        seeded: [SecretPath: [UInt8]],
        fieldSecret: (path: SecretPath, fields: [String: [UInt8]])? = nil,
        scratch: SecretPath
    ) {
        self.store = store
        self.seeded = seeded
        self.fieldSecret = fieldSecret
        self.scratch = scratch
    }
}

public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String
}

public enum StoreConformance {
    public static func run(_ fixture: ConformanceFixture) async throws {
        let store = fixture.store
        try check(!store.descriptor.backend.isEmpty, "descriptor names the backend")
        let planted = fixture.seeded.values.map { String(decoding: $0, as: UTF8.self) }.filter { $0.count >= 6 }
        for value in planted {
            try check(!store.descriptor.address.contains(value), "descriptor address holds no value")
        }

        try await checkReads(fixture)
        try await checkListing(fixture)
        try await checkFields(fixture)
        try await checkMissing(fixture, planted: planted)
        try await checkVersions(fixture)
        try await checkWriteAndRotate(fixture)
        let health = await store.health()
        try check(health.healthy, "health reports healthy (\(health.detail))")
    }

    static func checkReads(_ fixture: ConformanceFixture) async throws {
        for (path, bytes) in fixture.seeded {
            let secret = try await fixture.store.read(path)
            guard case .value(let value) = secret.content else { throw failure("\(path) reads as a plain value") }
            try check(value.copyBytes() == bytes, "\(path) reads back its exact bytes")
            try check(!secret.version.isEmpty, "\(path) has a version id")
        }
    }

    static func checkListing(_ fixture: ConformanceFixture) async throws {
        let store = fixture.store
        for path in fixture.seeded.keys {
            var folder = SecretPath.root
            for (index, segment) in path.segments.enumerated() {
                let listing = try await store.list(folder)
                for name in listing.secrets.union(listing.folders) {
                    try check(SecretPath.isValidSegment(name), "listing of \(folder) holds only valid names")
                }
                if index == path.segments.count - 1 {
                    try check(listing.secrets.contains(segment), "listing of \(folder) shows secret \(segment)")
                } else {
                    try check(listing.folders.contains(segment), "listing of \(folder) shows folder \(segment)")
                    folder = try folder.appending(segment)
                }
            }
        }
        let nowhere = try SecretPath("conformance-no-such-folder/deeper")
        let empty = try await store.list(nowhere)
        try check(empty.isEmpty, "listing a folder that does not exist is empty, not an error")
    }

    static func checkFields(_ fixture: ConformanceFixture) async throws {
        guard let (path, fields) = fixture.fieldSecret else { return }
        let secret = try await fixture.store.read(path)
        guard case .fields(let read) = secret.content else { throw failure("\(path) reads as fields") }
        try check(Set(read.keys) == Set(fields.keys), "\(path) has exactly its fields")
        for (name, bytes) in fields {
            try check(read[name]?.copyBytes() == bytes, "\(path) field \(name) reads back its exact bytes")
        }
    }

    static func checkMissing(_ fixture: ConformanceFixture, planted: [String]) async throws {
        let store = fixture.store
        for missing in [try SecretPath("conformance-missing"), fixture.scratch.appending(try SecretPath("x/y"))] {
            do {
                _ = try await store.read(missing)
                throw failure("reading \(missing) fails")
            } catch let error as SecretError {
                try check(error.code == .notFound, "reading \(missing) is notFound, got \(error.code)")
                for value in planted { try check(!error.description.contains(value), "errors hold no value") }
            }
        }
    }

    static func checkVersions(_ fixture: ConformanceFixture) async throws {
        let store = fixture.store
        guard let (path, bytes) = fixture.seeded.first else { return }
        guard store.descriptor.capabilities.contains(.versions) else {
            try await expect(.unsupported, "versions on a store without them") {
                _ = try await store.versions(of: path)
            }
            return
        }
        let versions = try await store.versions(of: path)
        try check(!versions.isEmpty, "\(path) has versions")
        guard let current = versions.first(where: { $0.labels.contains(VersionInfo.current) }) else {
            throw failure("\(path) has a version labelled current")
        }
        let byID = try await store.read(path, version: current.id)
        guard case .value(let value) = byID.content else { throw failure("version reads as a plain value") }
        try check(value.copyBytes() == bytes, "the current version holds the current value")
        try await expect(.notFound, "a version that does not exist") {
            _ = try await store.read(path, version: "999999999")
        }
        try await expect(.notFound, "versions of a missing secret") {
            _ = try await store.versions(of: try SecretPath("conformance-missing"))
        }
    }

    static func checkWriteAndRotate(_ fixture: ConformanceFixture) async throws {
        let store = fixture.store
        let caps = store.descriptor.capabilities
        let target = try fixture.scratch.appending("written")
        let first = SecretValue(string: "conformance-first-\(UInt32.random(in: 0...UInt32.max))")
        let second = SecretValue(bytes: [0, 1, 2, 255, 254])
        guard caps.contains(.write) else {
            try await expect(.unsupported, "write on a read-only store") {
                _ = try await store.write(target, content: .value(first))
            }
            try await expect(.unsupported, "rotate on a store that cannot") {
                _ = try await store.rotate(RotationRequest(path: target) { first })
            }
            return
        }
        let v1 = try await store.write(target, content: .value(first))
        try check(try await readValue(store, target) == first, "a written value reads back")
        let listing = try await store.list(fixture.scratch)
        try check(listing.secrets.contains("written"), "a written secret is listed in its folder")
        let v2 = try await store.write(target, content: .value(second))
        try check(v1.id != v2.id, "each write makes a new version")
        try check(try await readValue(store, target) == second, "binary bytes survive a write")
        if caps.contains(.versions) {
            let versions = try await store.versions(of: target)
            try check(versions.map(\.id).suffix(2) == [v1.id, v2.id], "versions are listed oldest first")
            try check(versions.last?.labels.contains(VersionInfo.current) == true, "the newest is current")
            try check(
                versions.dropLast().last?.labels.contains(VersionInfo.previous) == true, "the one before is previous")
            let old = try await store.read(target, version: v1.id)
            try check(old.content == .value(first), "an old version still reads its old value")
        }

        let fresh = SecretValue(string: "conformance-rotated-\(UInt32.random(in: 0...UInt32.max))")
        guard caps.contains(.rotate) else {
            try await expect(.unsupported, "rotate on a store that cannot") {
                _ = try await store.rotate(RotationRequest(path: target) { fresh })
            }
            return
        }
        let rotated = try await store.rotate(RotationRequest(path: target) { fresh })
        try check(rotated.oldVersion == v2.id, "rotation reports the version it replaced")
        try check(rotated.newVersion != v2.id, "rotation makes a new version")
        let after = try await readValue(store, target)
        try check(after != second && !after.isEmpty, "rotation changes the value")
        try await expect(.notFound, "rotating a missing secret") {
            _ = try await store.rotate(RotationRequest(path: try SecretPath("conformance-missing")) { fresh })
        }

        let multi = try fixture.scratch.appending("multi")
        let keep = SecretValue(string: "conformance-keep-me")
        _ = try await store.write(multi, content: .fields(["user": keep, "password": first]))
        let fieldRotation = try await store.rotate(RotationRequest(path: multi, field: "password") { fresh })
        let multiAfter = try await store.read(multi)
        guard case .fields(let fields) = multiAfter.content else {
            throw failure("a multi-field write reads as fields")
        }
        try check(fields["user"] == keep, "rotating one field keeps the others")
        try check(fields["password"] != first, "rotating a field changes it")
        try check(fieldRotation.field == "password", "the result names the rotated field")
    }

    static func readValue(_ store: any SecretStore, _ path: SecretPath) async throws -> SecretValue {
        guard case .value(let value) = try await store.read(path).content else {
            throw failure("\(path) reads as a plain value")
        }
        return value
    }

    static func expect(_ code: SecretError.Code, _ what: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as SecretError {
            try check(error.code == code, "\(what): expected \(code), got \(error.code) (\(error))")
            return
        }
        throw failure("\(what): expected \(code), got success")
    }

    static func check(_ condition: Bool, _ promise: String) throws {
        if !condition { throw failure(promise) }
    }

    static func failure(_ promise: String) -> ConformanceFailure {
        ConformanceFailure(description: "conformance: \(promise)")
    }
}
