import Testing

import class Foundation.ProcessInfo

/// A server some backend suites run against, started by `scripts/test` (see `scripts/lib`). Under a
/// plain `swift test` without it, those suites are skipped with a reason; `scripts/test` sets
/// `SECRETSFS_TEST_REQUIRE_SERVERS=1`, and then a missing server fails them instead.
public enum TestServer: String, Sendable, CaseIterable {
    case openBao = "SECRETSFS_TEST_VAULT_ADDR"
    case moto = "SECRETSFS_TEST_AWS_ENDPOINT"

    static let requiredVariable = "SECRETSFS_TEST_REQUIRE_SERVERS"

    var name: String { self == .openBao ? "OpenBao" : "moto" }
    var script: String {
        self == .openBao ? "scripts/lib/openbao.sh; openbao_start" : "scripts/lib/moto.sh; moto_start"
    }

    /// Whether the suites needing this server run, in `environment`.
    public func shouldRun(in environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        !(environment[rawValue] ?? "").isEmpty || environment[Self.requiredVariable] == "1"
    }

    var skipReason: Comment {
        "\(name) is not running (\(rawValue) is not set): run scripts/test, or `source \(script)` before swift test"
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite when `server` was not started, unless `scripts/test` requires it.
    public static func needs(_ server: TestServer) -> Self {
        .enabled(if: server.shouldRun(), server.skipReason)
    }
}
