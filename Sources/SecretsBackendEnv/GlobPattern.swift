#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An `--env-include` pattern: shell-style `*`, `?` and `[...]` matched against a whole variable
/// name by the C library's `fnmatch`, so it behaves exactly as the same pattern in a shell.
struct GlobPattern: Sendable, Hashable {
    let pattern: String

    func matches(_ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
