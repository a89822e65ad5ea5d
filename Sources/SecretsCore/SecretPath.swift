/// A secret's place in the tree: `/`-separated segments, checked against the rules of the mount.
///
/// Empty segments, `.`, `..`, NUL, `/` inside a segment and names starting with `.` are refused:
/// dot names are reserved for `.versions`, `.rotate`, `.status` and `.metrics`. The empty path
/// is the root folder.
public struct SecretPath: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maxSegmentBytes = 255

    /// The segments joined by `/`. One string rather than an array of them: a mount numbers a
    /// path for every file it shows, and short strings need no allocation at all.
    public let string: String

    public static let root = SecretPath(joined: "")

    init(trusted segments: [String]) { self.string = segments.joined(separator: "/") }

    private init(joined: String) { self.string = joined }

    // Everything below works on UTF-8 bytes: a `/` followed by a combining mark is one Character,
    // and splitting by Character would not see it.
    private static let slash = UInt8(ascii: "/")

    public var segments: [String] {
        if string.isEmpty { return [] }
        return string.utf8.split(separator: Self.slash, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// Parses `a/b/c`. A single leading or trailing `/` is tolerated, as a shell user types them.
    public init(_ string: String) throws(SecretError) {
        var body = Substring(string)
        if body.utf8.first == Self.slash { body = Substring(body.utf8.dropFirst()) }
        if body.utf8.last == Self.slash { body = Substring(body.utf8.dropLast()) }
        if body.isEmpty {
            self = .root
            return
        }
        var parts: [String] = []
        for part in body.utf8.split(separator: Self.slash, omittingEmptySubsequences: false) {
            parts.append(try Self.checked(String(decoding: part, as: UTF8.self)))
        }
        self.init(trusted: parts)
    }

    public init(segments: [String]) throws(SecretError) {
        var parts: [String] = []
        parts.reserveCapacity(segments.count)
        for part in segments { parts.append(try Self.checked(part)) }
        self.init(trusted: parts)
    }

    /// Checks one segment; the error names the rule broken, never more than the segment's length.
    public static func checked(_ segment: String) throws(SecretError) -> String {
        if segment.isEmpty { throw SecretError(.invalidArgument, "empty path segment") }
        if segment.utf8.count > maxSegmentBytes {
            throw SecretError(.nameTooLong, "name longer than \(maxSegmentBytes) bytes")
        }
        // Bytes, not Characters: `.` followed by a combining mark is one Character that is not ".".
        if segment.utf8.first == UInt8(ascii: ".") {
            throw SecretError(.invalidArgument, "path segment starts with '.' (reserved)")
        }
        if segment.utf8.contains(0) { throw SecretError(.invalidArgument, "path segment contains NUL") }
        if segment.utf8.contains(UInt8(ascii: "/")) { throw SecretError(.invalidArgument, "path segment contains '/'") }
        return segment
    }

    /// True when `segment` could be shown as a file or folder name.
    public static func isValidSegment(_ segment: String) -> Bool {
        (try? checked(segment)) != nil
    }

    public var isRoot: Bool { string.isEmpty }
    public var description: String { isRoot ? "/" : string }

    public var name: String {
        guard let slash = string.utf8.lastIndex(of: Self.slash) else { return string }
        return String(decoding: string.utf8[string.utf8.index(after: slash)...], as: UTF8.self)
    }

    public var parent: SecretPath? {
        if isRoot { return nil }
        guard let slash = string.utf8.lastIndex(of: Self.slash) else { return .root }
        return SecretPath(joined: String(decoding: string.utf8[..<slash], as: UTF8.self))
    }

    public func appending(_ segment: String) throws(SecretError) -> SecretPath {
        let checked = try Self.checked(segment)
        return SecretPath(joined: isRoot ? checked : string + "/" + checked)
    }

    /// Appends every segment of a relative path.
    public func appending(_ other: SecretPath) -> SecretPath {
        if other.isRoot { return self }
        return SecretPath(joined: isRoot ? other.string : string + "/" + other.string)
    }

    public func hasPrefix(_ prefix: SecretPath) -> Bool {
        if prefix.isRoot || string == prefix.string { return true }
        let bytes = string.utf8
        let head = prefix.string.utf8
        return bytes.count > head.count && bytes.starts(with: head)
            && bytes[bytes.index(bytes.startIndex, offsetBy: head.count)] == Self.slash
    }

    /// The path below `prefix`, or nil when this path is not under it.
    public func relative(to prefix: SecretPath) -> SecretPath? {
        guard hasPrefix(prefix) else { return nil }
        if prefix.isRoot { return self }
        if string == prefix.string { return .root }
        return SecretPath(joined: String(decoding: string.utf8.dropFirst(prefix.string.utf8.count + 1), as: UTF8.self))
    }

    /// Segment by segment, so `a/b` sorts before `a-b` as it does in a listing.
    public static func < (lhs: SecretPath, rhs: SecretPath) -> Bool {
        lhs.segments.lexicographicallyPrecedes(rhs.segments)
    }
}
