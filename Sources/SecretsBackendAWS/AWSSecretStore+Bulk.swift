import Foundation
import SecretsCore

/// Many secrets per request: `BatchGetSecretValue` for bulk reads (prefetch, the freshness service's
/// reads) and `ListSecrets`' version ids per staging label, which tell what changed without a read.
extension AWSSecretStore {
    /// AWS's limit of secrets per BatchGetSecretValue with a `SecretIdList`.
    static let batchSize = 20

    public func readMany(_ paths: [SecretPath]) async -> BulkRead {
        guard !batchRefused.withLock({ $0 }) else { return await BulkRead.oneByOne(self, paths) }
        var answer = BulkRead()
        var named: [String: SecretPath] = [:]
        for path in paths {
            do { named[try awsName(path)] = path } catch { answer.results[path] = .failure(error) }
        }
        let names = named.keys.sorted()
        for start in stride(from: 0, to: names.count, by: Self.batchSize) {
            let batch = Array(names[start..<min(names.count, start + Self.batchSize)])
            do {
                try await client.everyPage { token in
                    answer.requests += 1
                    let page = try await client.call(
                        "BatchGetSecretValue", SM.BatchGetSecretValue(SecretIdList: batch, NextToken: token),
                        as: SM.BatchAnswer.self)
                    for value in page.SecretValues ?? [] {
                        guard let name = value.Name, let path = named[name] else { continue }
                        do { answer.results[path] = .success(try secret(from: value)) } catch {
                            answer.results[path] = .failure(SecretError.from(error).at(path))
                        }
                    }
                    for failure in page.Errors ?? [] {
                        guard let id = failure.SecretId, let path = named[id] else { continue }
                        answer.results[path] = .failure(Self.batchFailure(failure.ErrorCode).at(path))
                    }
                    return page.NextToken
                }
            } catch let error as SecretError where error.code == .permissionDenied || error.code == .invalidArgument {
                // Refused as a whole: not granted, or an endpoint without it. GetSecretValue may still be.
                batchRefused.withLock { $0 = true }
                logger.warning(
                    "BatchGetSecretValue refused; reading secrets one by one",
                    metadata: ["error": "\(error.message)"])
                let rest = names[start...].compactMap { named[$0] }.filter { answer.results[$0] == nil }
                let single = await BulkRead.oneByOne(self, rest)
                answer.results.merge(single.results) { $1 }
                answer.requests += single.requests
                return answer
            } catch {
                let failure = SecretError.from(error)
                for name in batch { answer.results[named[name]!] = .failure(failure.at(named[name]!)) }
            }
            for name in batch where answer.results[named[name]!] == nil {
                answer.results[named[name]!] = .failure(
                    SecretError(.malformedResponse, "BatchGetSecretValue left this secret out").at(named[name]!))
            }
        }
        return answer
    }

    /// A per-secret error of a batch, by its code alone (its message may quote input).
    static func batchFailure(_ code: String?) -> SecretError {
        let type = code.map(AWSErrorClassifier.clean)
        let operation = "BatchGetSecretValue"
        switch AWSErrorClassifier.classify(status: 400, type: type, service: "Secrets Manager", operation: operation) {
        case .fail(let error): return error
        case .retry(let reason): return SecretError(.unavailable, "Secrets Manager \(operation): \(reason)")
        case .expiredCredentials: return SecretError(.unavailable, "Secrets Manager \(operation): expired credentials")
        }
    }

    /// Every shown secret's AWSCURRENT version id, from `ListSecrets` (100 a page).
    public func currentVersions() async throws -> VersionListing? {
        var versions: [SecretPath: String] = [:]
        var requests = 0
        let base = prefix.isEmpty ? "" : prefix.joined(separator: "/") + "/"
        try await client.everyPage { token in
            requests += 1
            let answer = try await client.call(
                "ListSecrets", SM.ListSecrets(MaxResults: tuning.listPageSize, NextToken: token, Filters: prefixFilter),
                as: SM.VersionedListAnswer.self)
            for entry in answer.SecretList ?? [] {
                guard let name = entry.Name, name.hasPrefix(base),
                    let current = entry.SecretVersionsToStages?.first(where: { $0.value.contains(Self.currentStage) })?
                        .key,
                    let path = try? SecretPath(String(name.dropFirst(base.count)))
                else { continue }
                versions[path] = current
            }
            return answer.NextToken
        }
        return VersionListing(versions: versions, requests: requests)
    }
}
