// The nodes of a Vault (or OpenBao) cluster as the client knows them: the configured addresses in
// order, the one that answered last, the redirects it may follow, and the newest storage index a
// write of ours was answered with. No I/O: `VaultClient` asks and tells it.
import Foundation
import Synchronization

final class VaultNodes: Sendable {
    /// The configured addresses, as checked (no trailing slash).
    let addresses: [String]
    /// `scheme://host:port` of each address, to recognise a redirect's target.
    private let origins: [String]
    private let state: Mutex<State>

    private struct State {
        var preferred = 0
        /// OpenBao's `X-Vault-Index` from the answer to our newest write: sent back so a standby that
        /// has not applied it yet forwards the call to the active node instead of answering from the past.
        var index: String?
        /// Nodes whose `sys/leader` said they are not in HA: every answer of theirs is the truth.
        var single: Set<Int> = []
    }

    init(_ addresses: [String]) {
        precondition(!addresses.isEmpty, "VaultConfiguration.resolve guarantees one address")
        self.addresses = addresses
        self.origins = addresses.map { Self.origin($0) ?? $0 }
        self.state = Mutex(State())
    }

    /// The node the next call starts at: the one that answered last (the first at start).
    var preferred: Int { state.withLock { $0.preferred } }

    var preferredAddress: String { addresses[preferred] }

    /// The node `index` answered: calls start there from now on. Returns whether that changed.
    @discardableResult
    func answered(by index: Int) -> Bool {
        state.withLock { state in
            defer { state.preferred = index }
            return state.preferred != index
        }
    }

    /// The node after `index` in the configured order, wrapping around.
    func next(after index: Int) -> Int { (index + 1) % addresses.count }

    /// The configured node a redirect's `Location` points at, or nil when it points anywhere else:
    /// the token is only ever sent to an address the user gave.
    func node(forRedirectTo location: String?) -> Int? {
        guard let location, let target = Self.origin(location) else { return nil }
        return origins.firstIndex(of: target)
    }

    // MARK: standbys

    /// Whether `node` is known to run without HA (no standby can answer for it).
    func isSingle(_ node: Int) -> Bool { state.withLock { $0.single.contains(node) } }

    /// `node` said it runs without HA; a Vault does not join a cluster without a restart.
    func learnedSingle(_ node: Int) { _ = state.withLock { $0.single.insert(node) } }

    // MARK: read-your-writes

    /// The headers that ask a standby for at least the state of our newest write: forwarded to the
    /// active node when it is behind. Nothing before the first write.
    func consistencyHeaders() -> [(name: String, value: String)] {
        guard let index = state.withLock({ $0.index }) else { return [] }
        return [("X-Vault-Index", index), ("X-Vault-Inconsistent", "forward-active-node")]
    }

    /// Keeps the index a write was answered with (`X-Vault-Index`; none from a Vault without it).
    /// Each write of ours comes after the one before, so the newest answer holds the newest index;
    /// the value itself is opaque.
    func wrote(index: String?) {
        guard let index, !index.isEmpty, index.utf8.count <= 4096 else { return }
        state.withLock { $0.index = index }
    }

    /// `scheme://host:port` in lower case with the scheme's default port made explicit; nil for a
    /// location without a scheme or host (a relative redirect is never followed).
    static func origin(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }
}
