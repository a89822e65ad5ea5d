import Foundation
import Logging
import SecretsCore
import SecretsHTTP
import ServiceLifecycle
import Synchronization

/// AWS Secrets Manager as a `SecretStore`. Secret names with `/` are folders; `--aws-prefix` picks
/// the folder shown at the root. Versions are VersionIds, labelled with their staging labels.
public final class AWSSecretStore: SecretStore {
    public let descriptor: StoreDescriptor
    let client: AWSClient
    let http: HTTPLayer
    let prefix: [String]
    let expandJSONFields: Bool
    let region: String
    let logger: Logger
    let tuning: Tuning
    /// Credentials fetched again before they expire, to run for as long as the store is used (the
    /// mount's `ServiceGroup` runs it).
    public let credentialRefresh: AWSCredentialRefresh
    /// Names already reported as impossible to show, so each is logged once.
    private let reportedNames = LogOnce()
    /// Set once BatchGetSecretValue is refused as a whole (a policy that grants GetSecretValue
    /// alone): bulk reads go one by one from then on.
    let batchRefused = Mutex(false)

    /// What tests turn: page sizes (to reach a second page with few secrets) and the retry policy.
    struct Tuning: Sendable {
        var listPageSize = 100
        var retryPolicy = RetryPolicy()
    }

    static let currentStage = "AWSCURRENT"
    static let previousStage = "AWSPREVIOUS"
    static let pendingStage = "AWSPENDING"

    /// Resolves options against `environment` (flags win over env), builds the credential chain. Configuration
    /// problems throw SecretError(.configuration, "one clear sentence") naming what is missing, never a key.
    ///
    /// Credentials are fetched once here, so a missing or broken credential source is reported at start,
    /// not at the first read.
    public static func connect(
        options: AWSOptions,
        environment: [String: String],
        homeDirectory: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource()
    ) async throws -> AWSSecretStore {
        try await connect(
            options: options, environment: environment, homeDirectory: homeDirectory, logger: logger, clock: clock,
            tuning: Tuning())
    }

    static func connect(
        options: AWSOptions,
        environment: [String: String],
        homeDirectory: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource(),
        tuning: Tuning
    ) async throws -> AWSSecretStore {
        let connection = try await AWSConnection.open(
            options: options, service: .secretsManager, environment: environment, homeDirectory: homeDirectory,
            logger: logger, clock: clock)
        return AWSSecretStore(
            configuration: connection.configuration, http: connection.http, credentials: connection.credentials,
            logger: logger, tuning: tuning)
    }

    init(
        configuration: ResolvedAWSConfiguration, http: HTTPLayer, credentials: CredentialChain,
        logger: Logger, tuning: Tuning
    ) {
        self.http = http
        self.prefix = configuration.prefix
        self.expandJSONFields = configuration.expandJSONFields
        self.region = configuration.region
        self.logger = logger
        self.tuning = tuning
        self.credentialRefresh = AWSCredentialRefresh(chain: credentials, clock: http.clock, logger: logger)
        self.client = AWSClient(
            endpoint: configuration.endpoint, region: configuration.region, credentials: credentials,
            http: http, timeout: configuration.timeout, retryPolicy: tuning.retryPolicy,
            logger: logger)
        var address = "\(configuration.endpoint) region \(configuration.region)"
        if !prefix.isEmpty { address += " prefix \(prefix.joined(separator: "/"))" }
        self.descriptor = StoreDescriptor(
            backend: "aws", address: address, capabilities: [.versions, .write, .rotate, .versionListing])
    }

    /// Where the credentials in use come from (`environment`, `web-identity`, ...), never the key.
    func credentialSource() async -> String? { await client.credentials.source }

    // MARK: Names

    /// The AWS name of `path`: the prefix and the path's segments joined with `/`.
    func awsName(_ path: SecretPath) throws(SecretError) -> String {
        guard !path.isRoot else { throw SecretError(.notFound, "the root is a folder, not a secret", path: .root) }
        return (prefix + path.segments).joined(separator: "/")
    }

    /// Logs once per name that a secret cannot be shown. Names are not values: they may be logged.
    func reportUnshowable(_ name: String) {
        if reportedNames.first(name) {
            // Its first 64 characters and its length, as the README promises: a name may be 2 KiB.
            logger.warning(
                "skipping an AWS secret whose name is not a valid path",
                metadata: ["name": "\(name.prefix(64).debugDescription)", "bytes": "\(name.utf8.count)"])
        }
    }

    // MARK: SecretStore

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await atPath(path) {
            var request = SM.GetSecretValue(SecretId: try awsName(path))
            switch version {
            case nil, VersionInfo.current?: request.VersionStage = Self.currentStage
            case VersionInfo.previous?: request.VersionStage = Self.previousStage
            // VersionIds are 32 to 64 characters; anything else can only be a staging label.
            case let id? where (32...64).contains(id.count): request.VersionId = id
            case let label?: request.VersionStage = label
            }
            return try secret(from: try await client.call("GetSecretValue", request, as: SM.SecretValueAnswer.self))
        }
    }

    /// The secret one version's answer holds (GetSecretValue, or one of BatchGetSecretValue's).
    func secret(from answer: SM.SecretValueAnswer) throws(SecretError) -> Secret {
        guard let id = answer.VersionId, !id.isEmpty else {
            throw SecretError(.malformedResponse, "Secrets Manager answer has a secret value without VersionId")
        }
        return Secret(
            content: try content(of: answer, expand: expandJSONFields), version: id,
            createdAt: answer.CreatedDate.map { Date(timeIntervalSince1970: $0) })
    }

    public func list(_ folder: SecretPath) async throws -> Listing {
        let names = try await allNames()
        let base = prefix.isEmpty ? "" : prefix.joined(separator: "/") + "/"
        var paths: [[String]] = []
        for name in names {
            guard name.hasPrefix(base) else { continue }
            let below = name.dropFirst(base.count)
            paths.append(below.split(separator: "/", omittingEmptySubsequences: false).map(String.init))
        }
        return Listing.children(of: folder, among: paths) { reportUnshowable(base + $0) }
    }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try await atPath(path) {
            let name = try awsName(path)
            // Asked first because moto answers ListSecretVersionIds on a missing secret with a 500,
            // which would look like an outage; on AWS it costs one cheap call.
            _ = try await client.call("DescribeSecret", SM.SecretID(SecretId: name), as: SM.DescribeAnswer.self)
            var versions: [(info: VersionInfo, rank: Int, order: Int)] = []
            try await client.everyPage { token in
                let answer = try await client.call(
                    "ListSecretVersionIds",
                    SM.ListVersions(
                        SecretId: name, MaxResults: tuning.listPageSize, NextToken: token, IncludeDeprecated: false),
                    as: SM.ListVersionsAnswer.self)
                for version in answer.Versions ?? [] {
                    guard let id = version.VersionId, !id.isEmpty else {
                        throw SecretError(.malformedResponse, "Secrets Manager listed a version without VersionId")
                    }
                    let stages = version.VersionStages ?? []
                    versions.append(
                        (
                            VersionInfo(
                                id: id, createdAt: version.CreatedDate.map { Date(timeIntervalSince1970: $0) },
                                labels: Self.labels(for: stages)),
                            Self.rank(stages), versions.count
                        ))
                }
                return answer.NextToken
            }
            // Oldest first. Versions made within one second share a CreatedDate; then the staging
            // labels say which came later (PREVIOUS before CURRENT before PENDING).
            versions.sort {
                let left = $0.info.createdAt?.timeIntervalSince1970 ?? 0
                let right = $1.info.createdAt?.timeIntervalSince1970 ?? 0
                if left != right { return left < right }
                if $0.rank != $1.rank { return $0.rank < $1.rank }
                return $0.order < $1.order
            }
            return versions.map(\.info)
        }
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try await atPath(path) {
            let name = try awsName(path)
            let (string, binary) = try Self.encode(content)
            let token = UUID().uuidString.lowercased()
            var request = SM.WriteValue(
                SecretId: name, ClientRequestToken: token, SecretString: string, SecretBinary: binary)
            let answer: SM.VersionAnswer
            do {
                answer = try await client.call("PutSecretValue", request, as: SM.VersionAnswer.self)
            } catch let error as SecretError where error.code == .notFound {
                request.SecretId = nil
                request.Name = name
                do {
                    answer = try await client.call("CreateSecret", request, as: SM.VersionAnswer.self)
                } catch let error as SecretError where error.code == .conflict {
                    // Created by someone else in between: write our value on top, as a put would have.
                    request.Name = nil
                    request.SecretId = name
                    answer = try await client.call("PutSecretValue", request, as: SM.VersionAnswer.self)
                }
            }
            return VersionInfo(
                id: answer.VersionId.nonEmpty ?? token, createdAt: client.now(),
                labels: [Self.currentStage, VersionInfo.current])
        }
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        // One token per rotation: every retry below reuses it, so AWS makes at most one version.
        try await rotate(request, token: UUID().uuidString.lowercased())
    }

    public func health() async -> HealthReport {
        do {
            _ = try await client.call(
                "ListSecrets", SM.ListSecrets(MaxResults: 1, NextToken: nil, Filters: prefixFilter),
                as: SM.ListSecretsAnswer.self)
            let source = await credentialSource() ?? "unknown"
            return HealthReport(healthy: true, detail: "Secrets Manager answers; credentials from \(source)")
        } catch {
            return HealthReport(healthy: false, detail: SecretError.from(error).description)
        }
    }

    public func shutdown() async {
        await http.shutdown()
    }

    // MARK: Helpers

    var prefixFilter: [SM.Filter]? {
        prefix.isEmpty ? nil : [SM.Filter(Key: "name", Values: [prefix.joined(separator: "/") + "/"])]
    }

    /// Every secret name under the prefix, all pages. The server-side filter only narrows the
    /// answer; `list` checks the prefix itself, since AWS matches name filters loosely.
    func allNames() async throws -> [String] {
        var names: [String] = []
        try await client.everyPage { token in
            let answer = try await client.call(
                "ListSecrets", SM.ListSecrets(MaxResults: tuning.listPageSize, NextToken: token, Filters: prefixFilter),
                as: SM.ListSecretsAnswer.self)
            for entry in answer.SecretList ?? [] {
                guard let name = entry.Name else {
                    throw SecretError(.malformedResponse, "Secrets Manager listed a secret without a Name")
                }
                names.append(name)
            }
            return answer.NextToken
        }
        return names
    }

    /// Runs `body`, naming `path` in any SecretError it throws.
    func atPath<T>(_ path: SecretPath, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SecretError {
            throw error.at(path)
        }
    }

    static func labels(for stages: [String]) -> [String] {
        var labels = stages
        if stages.contains(currentStage) { labels.append(VersionInfo.current) }
        if stages.contains(previousStage) { labels.append(VersionInfo.previous) }
        return labels
    }

    static func rank(_ stages: [String]) -> Int {
        if stages.contains(pendingStage) { return 3 }
        if stages.contains(currentStage) { return 2 }
        if stages.contains(previousStage) { return 1 }
        return 0
    }

    /// A version's content: SecretString as text (or, when expanding, a flat JSON object of strings as
    /// fields), SecretBinary as its bytes. A version holding neither (an AWSPENDING placeholder, or
    /// moto's RotateSecret without a Lambda) reads as empty rather than failing the whole folder.
    func content(of answer: SM.SecretValueAnswer, expand: Bool) throws(SecretError) -> SecretContent {
        if let string = answer.SecretString {
            if expand, let fields = Self.flatStringObject(string) {
                return .fields(fields.mapValues { SecretValue(string: $0) })
            }
            return .value(SecretValue(string: string))
        }
        if let binary = answer.SecretBinary {
            guard var bytes = Data(base64Encoded: binary).map(Array.init) else {
                throw SecretError(.malformedResponse, "Secrets Manager SecretBinary is not base64")
            }
            return .value(SecretValue(zeroing: &bytes))
        }
        return .value(SecretValue(bytes: []))
    }

    /// The object's fields when `text` is a non-empty JSON object whose values are all strings.
    static func flatStringObject(_ text: String) -> [String: String]? {
        guard text.utf8.first(where: { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }) == UInt8(ascii: "{")
        else { return nil }
        guard let fields = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)), !fields.isEmpty
        else { return nil }
        return fields
    }

    /// What to send for `content`: UTF-8 text as SecretString, other bytes as SecretBinary, fields as
    /// a JSON object in SecretString.
    static func encode(_ content: SecretContent) throws(SecretError) -> (String?, String?) {
        switch content {
        case .value(let value):
            if let text = value.utf8String() { return (text, nil) }
            return (nil, value.withUnsafeBytes { Data($0).base64EncodedString() })
        case .fields(let fields):
            var object: [String: String] = [:]
            for (name, value) in fields {
                guard let text = value.utf8String() else {
                    throw SecretError(
                        .invalidArgument, "field \(name) is not UTF-8 text; a JSON secret holds only text")
                }
                object[name] = text
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(object) else {
                throw SecretError(.internal, "cannot encode fields as JSON")
            }
            return (String(decoding: data, as: UTF8.self), nil)
        }
    }
}
