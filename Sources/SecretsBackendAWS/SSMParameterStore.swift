import Foundation
import Logging
import SecretsCore
import SecretsHTTP
import Synchronization

/// AWS Systems Manager Parameter Store as a `SecretStore`, over the same signer, credential chain and
/// HTTP layer as Secrets Manager. Parameter `/app/db/password` is the file `app/db/password`
/// (`--ssm-prefix /app` shows it as `db/password`); only hierarchical names (with a leading `/`) are
/// shown. `String`, `StringList` and `SecureString` read as their value (decrypted). Versions are
/// SSM's version numbers with their labels; rotation writes a new version by `PutParameter` with the
/// type and KMS key kept.
public final class SSMParameterStore: SecretStore {
    public let descriptor: StoreDescriptor
    let client: AWSClient
    let http: HTTPLayer
    let prefix: [String]
    let logger: Logger
    /// Credentials fetched again before they expire (the mount's `ServiceGroup` runs it).
    public let credentialRefresh: AWSCredentialRefresh
    private let reportedNames = LogOnce()
    /// Set once SSM refuses a listing with decryption: listings go without values from then on.
    private let decryptRefused = Atomic<Bool>(false)

    /// SSM's own limits per page.
    static let pathPageSize = 10
    static let historyPageSize = 50

    public static func connect(
        options: AWSOptions,
        environment: [String: String],
        homeDirectory: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource()
    ) async throws -> SSMParameterStore {
        let connection = try await AWSConnection.open(
            options: options, service: .parameterStore, environment: environment, homeDirectory: homeDirectory,
            logger: logger, clock: clock)
        return SSMParameterStore(
            configuration: connection.configuration, http: connection.http, credentials: connection.credentials,
            logger: logger)
    }

    init(configuration: ResolvedAWSConfiguration, http: HTTPLayer, credentials: CredentialChain, logger: Logger) {
        self.http = http
        self.prefix = configuration.prefix
        self.logger = logger
        self.credentialRefresh = AWSCredentialRefresh(chain: credentials, clock: http.clock, logger: logger)
        self.client = AWSClient(
            service: .parameterStore, endpoint: configuration.endpoint, region: configuration.region,
            credentials: credentials, http: http, timeout: configuration.timeout, logger: logger)
        var address = "\(configuration.endpoint) region \(configuration.region)"
        if !prefix.isEmpty { address += " prefix /\(prefix.joined(separator: "/"))" }
        self.descriptor = StoreDescriptor(
            backend: "ssm", address: address, capabilities: [.versions, .write, .rotate, .versionListing])
    }

    /// `/prefix/a/b` for `a/b`.
    func parameterName(_ path: SecretPath) throws(SecretError) -> String {
        guard !path.isRoot else { throw SecretError(.notFound, "the root is a folder, not a secret", path: .root) }
        return "/" + (prefix + path.segments).joined(separator: "/")
    }

    // MARK: SecretStore

    public func read(_ path: SecretPath, version: String?) async throws -> Secret {
        try await atPath(path) {
            var name = try parameterName(path)
            switch version {
            case nil, VersionInfo.current?:
                break
            case VersionInfo.previous?:
                let versions = try await versions(of: path)
                guard versions.count >= 2 else { throw SecretError.notFound(path, "no such version") }
                name += ":" + versions[versions.count - 2].id
            case let selector?:
                // A number selects a version, anything else a label (SSM's `name:selector`).
                guard !selector.contains(":"), !selector.contains("/") else {
                    throw SecretError.notFound(path, "no such version")
                }
                name += ":" + selector
            }
            let answer = try await client.call(
                "GetParameter", SSM.GetParameter(Name: name), as: SSM.ParameterAnswer.self)
            guard let parameter = answer.Parameter, let number = parameter.Version, var text = parameter.Value else {
                throw SecretError(.malformedResponse, "SSM GetParameter answer has no Parameter, Version or Value")
            }
            defer { text = "" }
            return Secret(
                content: .value(SecretValue(string: text)), version: String(number),
                createdAt: parameter.LastModifiedDate.map { Date(timeIntervalSince1970: $0) })
        }
    }

    public func list(_ folder: SecretPath) async throws -> Listing {
        try await listing(folder, withValues: false).listing
    }

    /// `GetParametersByPath` brings the values with the names when asked to decrypt: the listing of
    /// a folder then also holds its parameters, and the cache keeps them, so reading a folder's
    /// files after listing it costs no `GetParameter` each. A token that may list but not decrypt
    /// gets the plain listing, once warned.
    public func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent {
        guard !decryptRefused.load(ordering: .relaxed) else {
            return ListingWithCurrent(try await list(folder))
        }
        do {
            return try await listing(folder, withValues: true)
        } catch let error as SecretError where error.code == .permissionDenied {
            decryptRefused.store(true, ordering: .relaxed)
            logger.warning(
                "SSM refused GetParametersByPath with decryption; folders are listed without values from now on",
                metadata: ["error": "\(error.message)"])
            return ListingWithCurrent(try await list(folder))
        }
    }

    private func listing(_ folder: SecretPath, withValues: Bool) async throws -> ListingWithCurrent {
        let base = "/" + prefix.joined(separator: "/")
        let below = "/" + (prefix + folder.segments).joined(separator: "/")
        var paths: [[String]] = []
        var current: [String: Secret] = [:]
        try await client.everyPage { token in
            let answer = try await client.call(
                "GetParametersByPath",
                SSM.GetParametersByPath(
                    Path: below, WithDecryption: withValues, MaxResults: Self.pathPageSize, NextToken: token),
                as: SSM.ParametersAnswer.self)
            for parameter in answer.Parameters ?? [] {
                guard let name = parameter.Name else {
                    throw SecretError(.malformedResponse, "SSM listed a parameter without a Name")
                }
                var relative = Substring(name)
                guard relative.hasPrefix(base) else { continue }
                relative = relative.dropFirst(base.count)
                if relative.hasPrefix("/") { relative = relative.dropFirst() }
                let segments = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                paths.append(segments)
                // Only the folder's own parameters: what is deeper is listed by its own folder.
                if withValues, segments.count == folder.segments.count + 1, var text = parameter.Value,
                    let number = parameter.Version, let child = segments.last, SecretPath.isValidSegment(child)
                {
                    current[child] = Secret(
                        content: .value(SecretValue(string: text)), version: String(number),
                        createdAt: parameter.LastModifiedDate.map { Date(timeIntervalSince1970: $0) })
                    text = ""
                }
            }
            return answer.NextToken
        }
        let listing = Listing.children(of: folder, among: paths) { name in
            if reportedNames.first(name) {
                logger.warning(
                    "skipping an SSM parameter whose name is not a valid path",
                    metadata: ["name": "\(name.prefix(64).debugDescription)", "bytes": "\(name.utf8.count)"])
            }
        }
        return ListingWithCurrent(listing, current: current.filter { listing.secrets.contains($0.key) })
    }

    public func versions(of path: SecretPath) async throws -> [VersionInfo] {
        try await atPath(path) {
            let name = try parameterName(path)
            var found: [(number: Int, info: VersionInfo)] = []
            try await client.everyPage { token in
                let answer = try await client.call(
                    "GetParameterHistory",
                    SSM.GetParameterHistory(Name: name, MaxResults: Self.historyPageSize, NextToken: token),
                    as: SSM.ParametersAnswer.self)
                for entry in answer.Parameters ?? [] {
                    guard let number = entry.Version else {
                        throw SecretError(.malformedResponse, "SSM history has a version without a number")
                    }
                    let info = VersionInfo(
                        id: String(number), createdAt: entry.LastModifiedDate.map { Date(timeIntervalSince1970: $0) },
                        labels: (entry.Labels ?? []).filter { SecretPath.isValidSegment($0) })
                    found.append((number, info))
                }
                return answer.NextToken
            }
            guard !found.isEmpty else { throw SecretError.notFound(path) }
            return VersionInfo.labellingCurrentAndPrevious(found.sorted { $0.number < $1.number }.map(\.info))
        }
    }

    public func write(_ path: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try await atPath(path) {
            let name = try parameterName(path)
            guard case .value(let value) = content, var text = value.utf8String() else {
                throw SecretError(.invalidArgument, "an SSM parameter holds one text value")
            }
            defer { text = "" }
            let existing = try await describe(name)
            let answer = try await client.call(
                "PutParameter",
                SSM.PutParameter(
                    Name: name, Value: text, Type: existing?.Type ?? "SecureString", KeyId: existing?.KeyId),
                as: SSM.PutAnswer.self)
            guard let number = answer.Version else {
                throw SecretError(.malformedResponse, "SSM PutParameter answer has no Version")
            }
            return VersionInfo(id: String(number), createdAt: client.now(), labels: [VersionInfo.current])
        }
    }

    /// A new random value as a new version, with the parameter's type and KMS key. SSM has no
    /// check-and-set: a writer between our read and our write is found afterwards, when the version
    /// SSM gives ours is not the one after the version read, and reported as a conflict (EIO).
    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let path = request.path
        return try await atPath(path) {
            guard request.field == nil else {
                throw SecretError(.invalidArgument, "an SSM parameter has no fields")
            }
            let name = try parameterName(path)
            guard let current = try await describe(name), let read = current.Version else {
                throw SecretError.notFound(path)
            }
            var text = request.generate().utf8String() ?? ""
            defer { text = "" }
            let answer = try await client.call(
                "PutParameter",
                SSM.PutParameter(Name: name, Value: text, Type: current.Type ?? "SecureString", KeyId: current.KeyId),
                as: SSM.PutAnswer.self)
            guard let written = answer.Version else {
                throw SecretError(.malformedResponse, "SSM PutParameter answer has no Version")
            }
            guard written == read + 1 else {
                logger.error(
                    "another writer changed an SSM parameter during its rotation",
                    metadata: ["path": "\(path)", "read_version": "\(read)", "written_version": "\(written)"])
                throw SecretError(
                    .conflict,
                    "another writer changed the parameter during the rotation (read \(read), wrote \(written))")
            }
            // The mount (or `rotate`) says it at info; a second line would repeat it.
            logger.debug(
                "rotated an SSM parameter",
                metadata: ["path": "\(path)", "old_version": "\(read)", "new_version": "\(written)"])
            return RotationResult(path: path, field: nil, oldVersion: String(read), newVersion: String(written))
        }
    }

    public func health() async -> HealthReport {
        do {
            _ = try await client.call(
                "DescribeParameters", SSM.DescribeParameters(ParameterFilters: nil, MaxResults: 1),
                as: SSM.ParametersAnswer.self)
            let source = await client.credentials.source ?? "unknown"
            return HealthReport(healthy: true, detail: "SSM answers; credentials from \(source)")
        } catch {
            return HealthReport(healthy: false, detail: SecretError.from(error).description)
        }
    }

    public func shutdown() async {
        await http.shutdown()
    }

    // MARK: Helpers

    /// The parameter's type, KMS key and current version, without its value; nil when there is none.
    func describe(_ name: String) async throws -> SSM.Parameter? {
        let answer = try await client.call(
            "DescribeParameters",
            SSM.DescribeParameters(
                ParameterFilters: [.init(Key: "Name", Option: "Equals", Values: [name])], MaxResults: 1),
            as: SSM.ParametersAnswer.self)
        return answer.Parameters?.first { $0.Name == name }
    }

    func atPath<T>(_ path: SecretPath, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SecretError {
            throw error.at(path)
        }
    }
}
