/// What a template names: a path in the mount (a secret, or a field of a multi-field secret, as
/// `ls` shows it) and, after the last `@` of its last segment, a version id or label
/// (`db/password@3`, `tls/cert@previous`).
public struct TemplateReference: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var version: String?

    public init(path: String, version: String? = nil) {
        self.path = path
        self.version = version
    }

    /// Parses the quoted text of a template; `nil` for text that cannot name a file in the mount.
    public init?(parsing text: String) {
        let lastSegment = text.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if let at = lastSegment.lastIndex(of: "@") {
            let version = String(lastSegment[lastSegment.index(after: at)...])
            guard !version.isEmpty else { return nil }
            self.version = version
            self.path = String(text[..<at])
        } else {
            self.version = nil
            self.path = text
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty,
            segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") })
        else { return nil }
    }

    public var description: String { version.map { "\(path)@\($0)" } ?? path }
}
