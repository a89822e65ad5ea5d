import SecretStoreConformance
import SecretsCore
import Testing

@testable import SecretsBackendEnv

/// DESIGN §1.2: a name that cannot be shown is skipped and logged once, never with its value.
@Suite struct EnvSkippedNamesTests {
    static let environment = [
        "APP__EMPTY_FOLDER": "skipped-value-one",
        "APP_.HIDDEN": "skipped-value-two",
        "APP_TOKEN": "kept-prefixed-value",
        "TOKEN": "hidden-globbed-value",
        "APP_FINE_NAME": "fine-value",
    ]

    @Test func eachSkippedNameIsLoggedOnceWithoutItsValue() async throws {
        let capture = LogCapture()
        let store = EnvSecretStore(
            environment: Self.environment, prefix: "APP_", includeGlobs: ["TOKEN"], logger: capture.logger())
        for _ in 0..<3 {
            _ = try await store.list(.root)
            _ = try await store.list(try SecretPath("fine"))
        }
        let lines = capture.all
        for name in ["APP__EMPTY_FOLDER", "APP_.HIDDEN"] {
            #expect(
                lines.filter { $0.contains("cannot be listed") && $0.contains("name=\(name)") }.count == 1, "\(name)")
        }
        #expect(lines.filter { $0.contains("hides") && $0.contains("name=TOKEN shown=APP_TOKEN") }.count == 1)
        #expect(lines.count == 3, "the listable names are not logged: \(lines)")
        #expect(capture.leaks(of: Array(Self.environment.values)).isEmpty)
        #expect(!(try await store.list(.root)).folders.contains(""))
    }

    @Test func aCleanEnvironmentLogsNothing() {
        let capture = LogCapture()
        _ = EnvSecretStore(
            environment: ["APP_A_B": "value-a-b", "APP_C": "value-c"], prefix: "APP_", includeGlobs: [],
            logger: capture.logger())
        #expect(capture.all.isEmpty)
    }
}
