#if canImport(Glibc)
    import Glibc
#endif

/// The one form every time is written in (logs, `.status`, `.rotate`, the audit log, the supervisor's
/// lines): `2026-11-29T04:10:11.123Z`. Made with gmtime_r, no Foundation: Foundation's ISO 8601
/// formatter costs tens of microseconds and pulls in ICU, and the supervisor program must not load it.
public enum ISO8601 {
    public static func format(seconds: Int, milliseconds: Int) -> String {
        var whole = time_t(seconds)
        var parts = tm()
        gmtime_r(&whole, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
            + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(min(999, max(0, milliseconds)), 3) + "Z"
    }

    /// The wall clock now.
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: spec.tv_sec, milliseconds: Int(spec.tv_nsec / 1_000_000))
    }

    static func pad(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
