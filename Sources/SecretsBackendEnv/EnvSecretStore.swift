import Logging
import SecretsCore

import struct Foundation.Date

/// Environment variables as secrets (`--backend env`): `openai/api_key` is `OPENAI_API_KEY`, after
/// the prefix when one is given (`APP_OPENAI_API_KEY`).
///
/// Only variables under the prefix or matching an include glob are visible; nothing else of the
/// environment is kept, listed or readable by any lookup. With neither a prefix nor a glob nothing
/// at all is visible: a daemon's environment holds its own credentials (`AWS_SECRET_ACCESS_KEY`,
/// `VAULT_TOKEN`, …), and exposing all of it as files would hand them to every reader of the mount.
/// An empty prefix counts as none for the same reason.
///
/// The environment cannot change under a running process, so every secret has the one version
/// `1`, created when the store was, and the names it skips (DESIGN §1.2) are logged once, here.
public struct EnvSecretStore: SecretStore {
    public let descriptor: StoreDescriptor

    /// Visible variables by lookup key: the name after the prefix, upper-cased.
    private let variables: [String: Variable]
    private let startedAt: Date

    static let versionID = "1"

    private struct Variable: Sendable {
        /// The variable's name, and the part after the prefix, as the environment spells them.
        var name: String
        var key: String
        var value: SecretValue
        var underPrefix: Bool
    }

    public init(
        environment: [String: String],
        prefix: String?,
        includeGlobs: [String],
        clock: any TimeSource = SystemTimeSource(),
        logger: Logger = Logger(label: "secretsfs")
    ) {
        let prefix = prefix.flatMap { $0.isEmpty ? nil : $0 }
        let globs = includeGlobs.filter { !$0.isEmpty }.map(GlobPattern.init)
        var variables: [String: Variable] = [:]
        for (name, value) in environment {
            let variable: Variable
            if let prefix, name.hasPrefix(prefix), name.count > prefix.count {
                variable = Variable(
                    name: name, key: String(name.dropFirst(prefix.count)), value: SecretValue(string: value),
                    underPrefix: true)
            } else if globs.contains(where: { $0.matches(name) }) {
                variable = Variable(name: name, key: name, value: SecretValue(string: value), underPrefix: false)
            } else {
                continue
            }
            let lookup = variable.key.uppercased()
            if let existing = variables[lookup] {
                let (kept, hidden) = Self.ranksAbove(existing, variable) ? (existing, variable) : (variable, existing)
                logger.warning(
                    "skipping an environment variable another one hides",
                    metadata: ["name": "\(hidden.name)", "shown": "\(kept.name)"])
                variables[lookup] = kept
                continue
            }
            variables[lookup] = variable
        }
        for variable in variables.values where !Self.listable(variable) {
            logger.warning(
                "skipping an environment variable whose name cannot be listed as a file",
                metadata: ["name": "\(variable.name)"])
        }
        self.variables = variables
        self.startedAt = clock.wallNow()
        self.descriptor = StoreDescriptor(
            backend: "env", address: "environment" + (prefix.map { ":" + $0 } ?? ""), capabilities: [])
    }

    /// Which of two variables answering one lookup wins: one under the prefix over one matched by a
    /// glob (`APP_TOKEN` over `TOKEN` for `token`), then the one already spelled in upper case.
    private static func ranksAbove(_ a: Variable, _ b: Variable) -> Bool {
        if a.underPrefix != b.underPrefix { return a.underPrefix }
        return a.key == a.key.uppercased() && b.key != b.key.uppercased()
    }

    /// `openai/api_key` → `OPENAI_API_KEY`: segments joined by `_`, `-` and `.` made `_`, upper-cased.
    static func variableKey(for path: SecretPath) -> String {
        let joined = path.segments.joined(separator: "_")
        return String(joined.map { $0 == "-" || $0 == "." ? "_" : $0 }).uppercased()
    }

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        guard !path.isRoot, let variable = variables[Self.variableKey(for: path)] else {
            throw SecretError.notFound(path)
        }
        if let version, version != Self.versionID { throw SecretError.notFound(path, "no such version") }
        return Secret(content: .value(variable.value), version: Self.versionID, createdAt: startedAt)
    }

    /// Splits each visible name at its first `_`: `OPENAI_API_KEY` is folder `openai`, secret
    /// `api_key`; a name without `_` is a secret at the top. Names are shown lower-cased.
    public func list(_ folder: SecretPath) async throws -> Listing {
        Listing.children(of: folder, among: variables.values.map(Self.listedPath))
    }

    private static func listedPath(_ variable: Variable) -> [String] {
        let name = variable.key.lowercased()
        guard let split = name.firstIndex(of: "_") else { return [name] }
        return [String(name[..<split]), String(name[name.index(after: split)...])]
    }

    /// Whether a listing can show the variable: `APP__X` (an empty folder name) or `APP_.X` cannot.
    private static func listable(_ variable: Variable) -> Bool {
        listedPath(variable).allSatisfy(SecretPath.isValidSegment)
    }

    public func health() async -> HealthReport {
        HealthReport(healthy: true, detail: "\(variables.count) variables visible")
    }
}
