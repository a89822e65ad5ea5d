// Whether a "no such secret" came from a standby. OpenBao's standbys answer reads from their own copy
// of the storage, which applies a write made at the active node ~0.1 s after it; a 404 answer carries
// no `X-Vault-Index` to compare, and without an index of ours a standby cannot be asked to forward.
// So such a miss is marked `fromReplica` and the cache remembers it for a moment, not the negative TTL
// (issue 27 §3).
import Foundation
import SecretsCore
import SecretsHTTP

extension VaultClient {
    /// Whether `node`, which has just answered 404, is a standby now, by its `sys/leader`
    /// (unauthenticated, no token sent). A node without HA is asked once; a failed check counts as
    /// "not a standby", the answer as it was before.
    func isStandby(_ node: Int) async -> Bool {
        guard !nodes.isSingle(node) else { return false }
        let request = HTTPRequest(
            method: .GET, url: nodes.addresses[node] + "/v1/sys/leader",
            headers: [("Accept", "application/json"), ("X-Vault-Request", "true")], body: nil)
        guard let answer = try? await http.send(request, deadline: http.deadline(after: min(timeout, .seconds(1)))),
            answer.status == 200, let leader = try? JSONDecoder().decode(Leader.self, from: Data(answer.body))
        else { return false }
        guard leader.haEnabled else {
            nodes.learnedSingle(node)
            return false
        }
        return !(leader.isSelf ?? false)
    }

    /// The part of `sys/leader` that tells a standby.
    private struct Leader: Decodable {
        var haEnabled: Bool
        var isSelf: Bool?

        enum CodingKeys: String, CodingKey {
            case haEnabled = "ha_enabled"
            case isSelf = "is_self"
        }
    }
}

extension SecretError {
    /// This NotFound, marked as a standby's when `standby`.
    func fromStandby(_ standby: Bool) -> SecretError {
        var copy = self
        copy.fromReplica = standby
        return copy
    }
}
