import Foundation
import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendEnv

@Suite struct EnvSecretStoreTests {
    static let environment = [
        "APP_OPENAI_API_KEY": "openai-value",
        "APP_ALPHA": "alpha-value",
        "APP_MY_SERVICE_TOKEN": "dash-value",
        "APP_": "bare-prefix",
        "OTHER_DB_PASSWORD": "globbed-value",
        "OTHER_DB_USER": "globbed-user",
        "TOKEN1": "t1",
        "TOKENS": "ts",
        "SECRET_LEAK": "leak-value",
        "HOME": "/home/someone",
    ]

    private func read(_ store: EnvSecretStore, _ path: String) async throws -> String? {
        guard case .value(let value) = try await store.read(try SecretPath(path)).content else { return nil }
        return value.utf8String()
    }

    @Test func aLookupAcceptsAnySplit() async throws {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [])
        for path in ["openai/api_key", "openai_api/key", "openai_api_key", "openai/api/key", "OPENAI/API_KEY"] {
            #expect(try await read(store, path) == "openai-value")
        }
    }

    @Test func dashesAndDotsBecomeUnderscores() async throws {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [])
        #expect(try await read(store, "my-service/token") == "dash-value")
        #expect(try await read(store, "my.service/token") == "dash-value")
        #expect(EnvSecretStore.variableKey(for: try SecretPath("a-b/c.d/e_f")) == "A_B_C_D_E_F")
    }

    @Test func onlyPrefixedAndIncludedVariablesAreVisible() async throws {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: ["OTHER_*", "TOKEN?"])
        #expect(try await read(store, "other/db_password") == "globbed-value")
        #expect(try await read(store, "token1") == "t1")
        #expect(try await read(store, "tokens") == "ts")
        for path in ["secret/leak", "secret_leak", "home", "app", "app/alpha", "path"] {
            #expect(await errorCode { _ = try await store.read(try SecretPath(path)) } == .notFound, "\(path)")
        }
        let everything = try await allListed(store)
        #expect(!everything.contains { $0.contains("leak") || $0.contains("home") })
        #expect(
            Set(everything) == [
                "openai/api_key", "alpha", "my/service_token", "other/db_password", "other/db_user", "token1", "tokens",
            ])
    }

    @Test func globsUseShellRules() async throws {
        let store = EnvSecretStore(
            environment: ["AB": "1", "AC": "2", "AD": "3", "XYZ": "4", "X": "5", "XZ": "6", "AB_C": "7"], prefix: nil,
            includeGlobs: ["A[BC]", "X?Z"])
        #expect(try await store.list(.root) == Listing(secrets: ["ab", "ac", "xyz"]))
        #expect(try await read(store, "xyz") == "4")
        #expect(await errorCode { _ = try await store.read(try SecretPath("ad")) } == .notFound)
        #expect(await errorCode { _ = try await store.read(try SecretPath("ab/c")) } == .notFound)
    }

    @Test func withNeitherPrefixNorGlobNothingIsVisible() async throws {
        for prefix in [nil, ""] as [String?] {
            let store = EnvSecretStore(environment: Self.environment, prefix: prefix, includeGlobs: [])
            #expect(try await store.list(.root).isEmpty)
            #expect(await errorCode { _ = try await store.read(try SecretPath("home")) } == .notFound)
            #expect(await errorCode { _ = try await store.read(try SecretPath("secret_leak")) } == .notFound)
        }
    }

    @Test func listingSplitsAtTheFirstUnderscore() async throws {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [])
        #expect(try await store.list(.root) == Listing(secrets: ["alpha"], folders: ["openai", "my"]))
        #expect(try await store.list(try SecretPath("openai")) == Listing(secrets: ["api_key"]))
        #expect(try await store.list(try SecretPath("openai/api_key")).isEmpty)
        #expect(try await store.list(try SecretPath("nowhere")).isEmpty)
    }

    @Test func namesThatCannotBeShownAreSkipped() async throws {
        let store = EnvSecretStore(
            environment: ["P_GOOD": "g", "P__LEADING": "l", "P_TRAILING_": "t", "P_.DOT": "d"], prefix: "P_",
            includeGlobs: [])
        #expect(try await store.list(.root) == Listing(secrets: ["good"]))
    }

    @Test func aPrefixedVariableWinsOverAGlobbedOne() async throws {
        let store = EnvSecretStore(
            environment: ["APP_TOKEN": "prefixed", "TOKEN": "globbed"], prefix: "APP_", includeGlobs: ["TOKEN"])
        #expect(try await read(store, "token") == "prefixed")
    }

    @Test func versionsAndTimes() async throws {
        let clock = ManualTimeSource()
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [], clock: clock)
        clock.advance(by: .seconds(30))
        let secret = try await store.read(try SecretPath("alpha"))
        #expect(secret.version == "1")
        #expect(secret.createdAt == clock.wallNow().addingTimeInterval(-30))
        #expect(try await store.read(try SecretPath("alpha"), version: "1").version == "1")
        #expect(await errorCode { _ = try await store.read(try SecretPath("alpha"), version: "2") } == .notFound)
    }

    @Test func writesRotationAndVersionsAreUnsupported() async throws {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [])
        let path = try SecretPath("alpha")
        #expect(store.descriptor.capabilities.isEmpty)
        #expect(await errorCode { _ = try await store.versions(of: path) } == .unsupported)
        #expect(
            await errorCode { _ = try await store.write(path, content: .value(SecretValue(string: "x"))) }
                == .unsupported)
        #expect(
            await errorCode { _ = try await store.rotate(RotationRequest(path: path) { SecretValue(string: "x") }) }
                == .unsupported)
        #expect(try await read(store, "alpha") == "alpha-value")
    }

    @Test func descriptorNamesThePrefixAndNoValue() async {
        let store = EnvSecretStore(environment: Self.environment, prefix: "APP_", includeGlobs: [])
        #expect(store.descriptor.backend == "env")
        #expect(store.descriptor.address == "environment:APP_")
        #expect(EnvSecretStore(environment: [:], prefix: nil, includeGlobs: []).descriptor.address == "environment")
        #expect(await store.health().healthy)
    }

    /// Every secret path reachable by walking the listings from the root.
    private func allListed(_ store: EnvSecretStore) async throws -> [String] {
        var found: [String] = []
        let root = try await store.list(.root)
        found += root.secrets.sorted()
        for folder in root.folders.sorted() {
            let listing = try await store.list(try SecretPath(folder))
            found += listing.secrets.sorted().map { "\(folder)/\($0)" }
        }
        return found
    }
}
