import SecretsCore
import Testing

/// The promises of `SecretStore`, checked against a real store. Every backend's tests run it (local,
/// env, OpenBao, moto), and so do the in-memory reference store and the cache in front of it.
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
    /// A store whose secrets are one text value each by its API (SSM parameters): a non-UTF-8 or a
    /// multi-field write must be refused with `invalidArgument` instead of read back.
    public var textOnly: Bool

    public init(
        store: any SecretStore,
        seeded: [SecretPath: [UInt8]],
        fieldSecret: (path: SecretPath, fields: [String: [UInt8]])? = nil,
        scratch: SecretPath,
        textOnly: Bool = false
    ) {
        self.store = store
        self.seeded = seeded
        self.fieldSecret = fieldSecret
        self.scratch = scratch
        self.textOnly = textOnly
    }
}

/// Records every broken promise as a test issue, naming the operation and the path, and goes on:
/// one run shows all that a store gets wrong, as swift-configuration's `ProviderCompatTest` does.
public enum StoreConformance {
    /// `broken` receives each broken promise instead of a test issue: the suite's own test hands it a
    /// store that breaks promises on purpose and checks what comes back.
    public static func run(
        _ fixture: ConformanceFixture, sourceLocation: SourceLocation = #_sourceLocation,
        broken: (@Sendable (String) -> Void)? = nil
    ) async {
        let run = Run(fixture: fixture, location: sourceLocation, broken: broken)
        let store = fixture.store
        run.check(!store.descriptor.backend.isEmpty, "descriptor names the backend")
        for value in run.planted {
            run.check(!store.descriptor.address.contains(value), "descriptor address holds no value")
        }
        await run.part("reads") { try await run.checkReads() }
        await run.part("listing") { try await run.checkListing() }
        await run.part("fields") { try await run.checkFields() }
        await run.part("missing") { try await run.checkMissing() }
        await run.part("bulk reads") { try await run.checkBulkReads() }
        await run.part("versions") { try await run.checkVersions() }
        await run.part("write and rotate") { try await run.checkWriteAndRotate() }
        let health = await store.health()
        run.check(health.healthy, "health reports healthy (\(health.detail))")
    }

    struct Run {
        let fixture: ConformanceFixture
        let location: SourceLocation
        let broken: (@Sendable (String) -> Void)?
        var store: any SecretStore { fixture.store }
        /// Seeded values long enough to look for in messages.
        var planted: [String] {
            fixture.seeded.values.map { String(decoding: $0, as: UTF8.self) }.filter { $0.count >= 6 }
        }

        func check(_ condition: Bool, _ promise: @autoclosure () -> String) {
            guard let broken else {
                return #expect(
                    condition, "conformance (\(store.descriptor.backend)): \(promise())", sourceLocation: location)
            }
            if !condition { broken(promise()) }
        }

        /// An error a part throws is one broken promise; the next part still runs.
        func part(_ name: String, _ body: () async throws -> Void) async {
            do {
                try await body()
            } catch {
                // SecretError's message never holds a value; another error is shown by its type only.
                let shown = (error as? SecretError).map { "\($0)" } ?? "\(type(of: error))"
                check(false, "\(name): unexpected error \(shown)")
            }
        }

        func checkReads() async throws {
            for (path, bytes) in fixture.seeded {
                await part("read \(path)") {
                    let secret = try await store.read(path)
                    guard case .value(let value) = secret.content else {
                        return check(false, "\(path) reads as a plain value")
                    }
                    check(value.copyBytes() == bytes, "\(path) reads back its exact bytes")
                    check(!secret.version.isEmpty, "\(path) has a version id")
                }
            }
        }

        func checkListing() async throws {
            for path in fixture.seeded.keys {
                var folder = SecretPath.root
                for (index, segment) in path.segments.enumerated() {
                    let listing = try await store.list(folder)
                    for name in listing.secrets.union(listing.folders) {
                        check(SecretPath.isValidSegment(name), "listing of \(folder) holds only valid names")
                    }
                    if index == path.segments.count - 1 {
                        check(listing.secrets.contains(segment), "listing of \(folder) shows secret \(segment)")
                    } else {
                        check(listing.folders.contains(segment), "listing of \(folder) shows folder \(segment)")
                        folder = try folder.appending(segment)
                    }
                }
            }
            let empty = try await store.list(try SecretPath("conformance-no-such-folder/deeper"))
            check(empty.isEmpty, "listing a folder that does not exist is empty, not an error")
        }

        func checkFields() async throws {
            guard let (path, fields) = fixture.fieldSecret else { return }
            let secret = try await store.read(path)
            guard case .fields(let read) = secret.content else { return check(false, "\(path) reads as fields") }
            check(Set(read.keys) == Set(fields.keys), "\(path) has exactly its fields")
            for (name, bytes) in fields {
                check(read[name]?.copyBytes() == bytes, "\(path) field \(name) reads back its exact bytes")
            }
        }

        func checkMissing() async throws {
            for missing in [try SecretPath("conformance-missing"), fixture.scratch.appending(try SecretPath("x/y"))] {
                do {
                    _ = try await store.read(missing)
                    check(false, "reading \(missing) fails")
                } catch let error as SecretError {
                    check(error.code == .notFound, "reading \(missing) is notFound, got \(error.code)")
                    for value in planted { check(!error.description.contains(value), "errors hold no value") }
                }
            }
        }

        /// `readMany` answers each path as `read` does, one path's failure its own; a listing of
        /// current versions, where the store has one, agrees with `read`.
        func checkBulkReads() async throws {
            let missing = try SecretPath("conformance-missing-in-bulk")
            var paths = Array(fixture.seeded.keys)
            if let (path, _) = fixture.fieldSecret { paths.append(path) }
            let answer = await store.readMany(paths + [missing])
            check(answer.requests >= 1, "a bulk read counts its requests")
            for path in paths {
                let single = try await store.read(path)
                switch answer.results[path] {
                case .success(let secret)?:
                    check(secret.content == single.content, "bulk read of \(path) holds what read holds")
                    check(secret.version == single.version, "bulk read of \(path) has read's version")
                case .failure(let error)?:
                    check(false, "bulk read of \(path) succeeds, got \(error.code)")
                case nil:
                    check(false, "bulk read answers \(path)")
                }
            }
            if case .failure(let error)? = answer.results[missing] {
                check(error.code == .notFound, "bulk read of a missing secret is notFound, got \(error.code)")
                for value in planted { check(!error.description.contains(value), "errors hold no value") }
            } else {
                check(false, "bulk read of a missing secret is a failure of its own")
            }
            guard let listing = try await store.currentVersions() else { return }
            for path in paths {
                let version = try await store.read(path).version
                check(listing.versions[path] == version, "the listing of versions has \(path) at read's version")
            }
            check(listing.versions[missing] == nil, "the listing of versions has no missing secret")
        }

        func checkVersions() async throws {
            guard let (path, bytes) = fixture.seeded.first else { return }
            guard store.descriptor.capabilities.contains(.versions) else {
                return await expect(.unsupported, "versions on a store without them") {
                    _ = try await store.versions(of: path)
                }
            }
            let versions = try await store.versions(of: path)
            check(!versions.isEmpty, "\(path) has versions")
            if let current = versions.first(where: { $0.labels.contains(VersionInfo.current) }) {
                let byID = try await store.read(path, version: current.id)
                if case .value(let value) = byID.content {
                    check(value.copyBytes() == bytes, "the current version of \(path) holds the current value")
                } else {
                    check(false, "version \(current.id) of \(path) reads as a plain value")
                }
            } else {
                check(false, "\(path) has a version labelled current")
            }
            await expect(.notFound, "a version that does not exist") {
                _ = try await store.read(path, version: "999999999")
            }
            await expect(.notFound, "versions of a missing secret") {
                _ = try await store.versions(of: try SecretPath("conformance-missing"))
            }
        }

        func checkWriteAndRotate() async throws {
            let caps = store.descriptor.capabilities
            let target = try fixture.scratch.appending("written")
            let first = SecretValue(string: "conformance-first-\(UInt32.random(in: 0...UInt32.max))")
            let binary = SecretValue(bytes: [0, 1, 2, 255, 254])
            let second = fixture.textOnly ? SecretValue(string: "conformance-second-text") : binary
            guard caps.contains(.write) else {
                await expect(.unsupported, "write on a read-only store") {
                    _ = try await store.write(target, content: .value(first))
                }
                return await expect(.unsupported, "rotate on a store that cannot") {
                    _ = try await store.rotate(RotationRequest(path: target) { first })
                }
            }
            let v1 = try await store.write(target, content: .value(first))
            check(try await readValue(target) == first, "a written value reads back")
            let listing = try await store.list(fixture.scratch)
            check(listing.secrets.contains("written"), "a written secret is listed in its folder")
            let v2 = try await store.write(target, content: .value(second))
            check(v1.id != v2.id, "each write makes a new version")
            check(try await readValue(target) == second, "binary bytes survive a write")
            if fixture.textOnly {
                await expect(.invalidArgument, "a value that is not text on a text-only store") {
                    _ = try await store.write(target, content: .value(binary))
                }
                check(try await readValue(target) == second, "a refused write changes nothing")
            }
            if caps.contains(.versions) {
                await part("versions after writes") {
                    let versions = try await store.versions(of: target)
                    check(versions.map(\.id).suffix(2) == [v1.id, v2.id], "versions are listed oldest first")
                    check(versions.last?.labels.contains(VersionInfo.current) == true, "the newest is current")
                    check(
                        versions.dropLast().last?.labels.contains(VersionInfo.previous) == true,
                        "the one before is previous")
                    let old = try await store.read(target, version: v1.id)
                    check(old.content == .value(first), "an old version still reads its old value")
                }
            }

            let fresh = SecretValue(string: "conformance-rotated-\(UInt32.random(in: 0...UInt32.max))")
            guard caps.contains(.rotate) else {
                return await expect(.unsupported, "rotate on a store that cannot") {
                    _ = try await store.rotate(RotationRequest(path: target) { fresh })
                }
            }
            await part("rotate") {
                let rotated = try await store.rotate(RotationRequest(path: target) { fresh })
                check(rotated.oldVersion == v2.id, "rotation reports the version it replaced")
                check(rotated.newVersion != v2.id, "rotation makes a new version")
                let after = try await readValue(target)
                check(after != second && !after.isEmpty, "rotation changes the value")
            }
            await expect(.notFound, "rotating a missing secret") {
                _ = try await store.rotate(RotationRequest(path: try SecretPath("conformance-missing")) { fresh })
            }
            await part("rotate a field") {
                let multi = try fixture.scratch.appending("multi")
                let keep = SecretValue(string: "conformance-keep-me")
                if fixture.textOnly {
                    return await expect(.invalidArgument, "a multi-field write on a text-only store") {
                        _ = try await store.write(multi, content: .fields(["user": keep, "password": first]))
                    }
                }
                _ = try await store.write(multi, content: .fields(["user": keep, "password": first]))
                let fieldRotation = try await store.rotate(RotationRequest(path: multi, field: "password") { fresh })
                guard case .fields(let fields) = try await store.read(multi).content else {
                    return check(false, "a multi-field write reads as fields")
                }
                check(fields["user"] == keep, "rotating one field keeps the others")
                check(fields["password"] != first, "rotating a field changes it")
                check(fieldRotation.field == "password", "the result names the rotated field")
            }
        }

        /// The value at `path`; an empty one (and a broken promise) when it is not a plain value.
        func readValue(_ path: SecretPath) async throws -> SecretValue {
            guard case .value(let value) = try await store.read(path).content else {
                check(false, "\(path) reads as a plain value")
                return SecretValue(bytes: [])
            }
            return value
        }

        func expect(_ code: SecretError.Code, _ what: String, _ body: () async throws -> Void) async {
            do {
                try await body()
                check(false, "\(what): expected \(code), got success")
            } catch let error as SecretError {
                check(error.code == code, "\(what): expected \(code), got \(error.code) (\(error))")
            } catch {
                check(false, "\(what): expected \(code), got \(type(of: error))")
            }
        }
    }
}
