import Foundation
import SecretsCore

/// An http(s) base URL split into what requests and signatures need. Any user info in the URL is
/// dropped, so `description` can go to `.status` and logs.
struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    var scheme: String
    var host: String
    var port: Int?
    /// Without a trailing `/`; empty for the root.
    var basePath: String

    init(parsing text: String, what: String) throws(SecretError) {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard let schemeEnd = rest.range(of: "://") else {
            throw SecretError(.configuration, "\(what) must start with http:// or https://")
        }
        scheme = rest[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw SecretError(.configuration, "\(what) must start with http:// or https://")
        }
        rest = rest[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let pathPart = rest[authorityEnd...].prefix { $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }

        var hostPart = authority
        var portValue: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw SecretError(.configuration, "\(what) has a malformed IPv6 host")
            }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portValue = Int(after.dropFirst()) ?? -1 }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portValue = Int(authority[authority.index(after: colon)...]) ?? -1
        }
        guard !hostPart.isEmpty else { throw SecretError(.configuration, "\(what) has no host") }
        if let portValue, !(1...65_535).contains(portValue) {
            throw SecretError(.configuration, "\(what) has an invalid port")
        }
        host = String(hostPart).lowercased()
        port = portValue
        var path = String(pathPart)
        while path.hasSuffix("/") { path.removeLast() }
        basePath = path
    }

    var defaultPort: Int { scheme == "https" ? 443 : 80 }

    /// What the Host header carries (and so what is signed): the port only when it is not the default.
    var hostHeader: String {
        if let port, port != defaultPort { return "\(host):\(port)" }
        return host
    }

    /// The full URL of `path` (which starts with `/`) below the base path.
    func url(_ path: String = "/") -> String {
        "\(scheme)://\(hostHeader)\(basePath)\(path)"
    }

    /// The path part as sent, for signing.
    func requestPath(_ path: String = "/") -> String { basePath + path }

    var description: String { "\(scheme)://\(hostHeader)\(basePath)" }
}
