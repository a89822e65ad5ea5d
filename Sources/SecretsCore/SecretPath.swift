/// A secret's place in the tree: `/`-separated segments, checked against the rules of the mount.
///
/// Empty segments, `.`, `..`, NUL, `/` inside a segment and names starting with `.` are refused:
/// dot names are reserved for `.versions`, `.rotate`, `.status` and `.metrics`. The empty path
/// is the root folder.
public struct SecretPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maxSegmentBytes = 255

    public let segments: [String]

    public static let root = SecretPath(trusted: [])

    init(trusted segments: [String]) { self.segments = segments }

    /// Parses `a/b/c`. A single leading or trailing `/` is tolerated, as a shell user types them.
    public init(_ string: String) throws(SecretError) {
        var body = Substring(string)
        if body.hasPrefix("/") { body = body.dropFirst() }
        if body.hasSuffix("/") { body = body.dropLast() }
        if body.isEmpty {
            self = .root
            return
        }
        var parts: [String] = []
        for part in body.split(separator: "/", omittingEmptySubsequences: false) {
            parts.append(try Self.checked(String(part)))
        }
        self.segments = parts
    }

    public init(segments: [String]) throws(SecretError) {
        var parts: [String] = []
        parts.reserveCapacity(segments.count)
        for part in segments { parts.append(try Self.checked(part)) }
        self.segments = parts
    }

    /// Checks one segment; the error names the rule broken, never more than the segment's length.
    public static func checked(_ segment: String) throws(SecretError) -> String {
        if segment.isEmpty { throw SecretError(.invalidArgument, "empty path segment") }
        if segment.utf8.count > maxSegmentBytes {
            throw SecretError(.nameTooLong, "path segment longer than \(maxSegmentBytes) bytes")
        }
        if segment.hasPrefix(".") { throw SecretError(.invalidArgument, "path segment starts with '.' (reserved)") }
        if segment.utf8.contains(0) { throw SecretError(.invalidArgument, "path segment contains NUL") }
        if segment.utf8.contains(UInt8(ascii: "/")) { throw SecretError(.invalidArgument, "path segment contains '/'") }
        return segment
    }

    /// True when `segment` could be shown as a file or folder name.
    public static func isValidSegment(_ segment: String) -> Bool {
        (try? checked(segment)) != nil
    }

    public var isRoot: Bool { segments.isEmpty }
    public var name: String { segments.last ?? "" }
    public var string: String { segments.joined(separator: "/") }
    public var description: String { isRoot ? "/" : string }

    public var parent: SecretPath? {
        isRoot ? nil : SecretPath(trusted: Array(segments.dropLast()))
    }

    public func appending(_ segment: String) throws(SecretError) -> SecretPath {
        SecretPath(trusted: segments + [try Self.checked(segment)])
    }

    /// Appends every segment of a relative path.
    public func appending(_ other: SecretPath) -> SecretPath {
        SecretPath(trusted: segments + other.segments)
    }

    public func hasPrefix(_ prefix: SecretPath) -> Bool {
        segments.count >= prefix.segments.count && Array(segments.prefix(prefix.segments.count)) == prefix.segments
    }

    /// The path below `prefix`, or nil when this path is not under it.
    public func relative(to prefix: SecretPath) -> SecretPath? {
        hasPrefix(prefix) ? SecretPath(trusted: Array(segments.dropFirst(prefix.segments.count))) : nil
    }

    public static func < (lhs: SecretPath, rhs: SecretPath) -> Bool {
        lhs.segments.lexicographicallyPrecedes(rhs.segments)
    }
}
