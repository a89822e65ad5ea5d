#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Shell-style patterns (`*`, `?`, `[...]` by the C library's fnmatch(3), so a pattern means what it
/// means in a shell) over names and over `/`-separated paths, where `**` is any number of segments.
/// The one matcher behind `--env-include`, policy rules and every path glob of the config.
public enum Glob {
    /// fnmatch(3) on one string; `/` is an ordinary character here.
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    public static func matchesPath(_ pattern: [Substring], _ path: ArraySlice<String>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        let rest = Array(pattern.dropFirst())
        if first == "**" {
            // Zero or more segments.
            for skip in 0...path.count where matchesPath(rest, path.dropFirst(skip)) { return true }
            return false
        }
        guard let segment = path.first, matches(String(first), segment) else { return false }
        return matchesPath(rest, path.dropFirst())
    }

    /// Whether `pattern` matches every path below `folder`: its segments match the folder's one by one
    /// and what is left is `**` alone.
    public static func coversAllBelow(_ pattern: [Substring], _ folder: ArraySlice<String>) -> Bool {
        if pattern == ["**"] { return true }
        guard let segment = folder.first, let first = pattern.first, first != "**" else { return false }
        guard matches(String(first), segment) else { return false }
        return coversAllBelow(Array(pattern.dropFirst()), folder.dropFirst())
    }

    /// Whether some path starting with `folder` could match `pattern`.
    public static func prefixCompatible(_ pattern: [Substring], _ folder: ArraySlice<String>) -> Bool {
        guard let segment = folder.first else { return true }
        guard let first = pattern.first else { return false }
        if first == "**" { return true }
        guard matches(String(first), segment) else { return false }
        return prefixCompatible(Array(pattern.dropFirst()), folder.dropFirst())
    }
}
