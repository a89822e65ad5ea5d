import Foundation
import SecretsCore

/// Many parameters per request: `GetParameters` (10 names a call) for bulk reads, and the versions
/// `GetParametersByPath` lists without values, which tell what changed without a read.
extension SSMParameterStore {
    /// SSM's limit of names per GetParameters.
    static let batchSize = 10

    public func readMany(_ paths: [SecretPath]) async -> BulkRead {
        var answer = BulkRead()
        var named: [String: SecretPath] = [:]
        for path in paths {
            do { named[try parameterName(path)] = path } catch { answer.results[path] = .failure(error) }
        }
        let names = named.keys.sorted()
        for start in stride(from: 0, to: names.count, by: Self.batchSize) {
            let batch = Array(names[start..<min(names.count, start + Self.batchSize)])
            answer.requests += 1
            do {
                let page = try await client.call(
                    "GetParameters", SSM.GetParameters(Names: batch), as: SSM.ParametersByNameAnswer.self)
                for parameter in page.Parameters ?? [] {
                    guard let name = parameter.Name, let path = named[name] else { continue }
                    guard let number = parameter.Version, var text = parameter.Value else {
                        answer.results[path] = .failure(
                            SecretError(.malformedResponse, "SSM GetParameters answer has no Version or Value").at(path)
                        )
                        continue
                    }
                    answer.results[path] = .success(
                        Secret(
                            content: .value(SecretValue(string: text)), version: String(number),
                            createdAt: parameter.LastModifiedDate.map { Date(timeIntervalSince1970: $0) }))
                    text = ""
                }
                for name in page.InvalidParameters ?? [] {
                    guard let path = named[name] else { continue }
                    answer.results[path] = .failure(SecretError.notFound(path, "no such parameter"))
                }
            } catch {
                let failure = SecretError.from(error)
                for name in batch { answer.results[named[name]!] = .failure(failure.at(named[name]!)) }
            }
            for name in batch where answer.results[named[name]!] == nil {
                answer.results[named[name]!] = .failure(
                    SecretError(.malformedResponse, "GetParameters left this parameter out").at(named[name]!))
            }
        }
        return answer
    }

    /// Every shown parameter's version, from `GetParametersByPath` under the prefix, without values.
    public func currentVersions() async throws -> VersionListing? {
        let base = "/" + prefix.joined(separator: "/")
        var versions: [SecretPath: String] = [:]
        var requests = 0
        try await client.everyPage { token in
            requests += 1
            let answer = try await client.call(
                "GetParametersByPath",
                SSM.GetParametersByPath(Path: base, MaxResults: Self.pathPageSize, NextToken: token),
                as: SSM.ParametersAnswer.self)
            for parameter in answer.Parameters ?? [] {
                guard let name = parameter.Name, let number = parameter.Version, name.hasPrefix(base) else { continue }
                var relative = Substring(name).dropFirst(base.count)
                if relative.hasPrefix("/") { relative = relative.dropFirst() }
                guard let path = try? SecretPath(String(relative)) else { continue }
                versions[path] = String(number)
            }
            return answer.NextToken
        }
        return VersionListing(versions: versions, requests: requests)
    }
}
