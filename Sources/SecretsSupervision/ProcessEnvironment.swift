#if canImport(Glibc)
    import Glibc
#endif

/// This process's environment as it is now, read from `environ` (Foundation's `ProcessInfo` is not
/// linked into the supervisor).
public enum ProcessEnvironment {
    /// `NAME=value` each, in `environ`'s order.
    public static func entries() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries() {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return result
    }
}
