#if canImport(Glibc)
    import Glibc
#endif

/// The signals a user may name (`--on-change signal:HUP`, `on_change`'s `signal: USR1`), with or
/// without `SIG`, in any case.
enum SignalName {
    static let numbers: [String: Int32] = [
        "HUP": SIGHUP, "INT": SIGINT, "TERM": SIGTERM, "USR1": SIGUSR1, "USR2": SIGUSR2, "QUIT": SIGQUIT,
    ]
    static let known = "HUP, INT, TERM, USR1, USR2, QUIT"

    static func number(_ text: String) -> Int32? {
        let name = text.uppercased()
        return numbers[name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name]
    }
}
