import SecretsTime

import struct Foundation.Date

#if canImport(Glibc)
    import Glibc
#endif

/// Times as logs, `.status`, `.rotate` and the audit log write them (`ISO8601`), and Vault's times read.
public enum Timestamp {
    public static func iso8601(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        return ISO8601.format(seconds: Int(whole), milliseconds: Int((seconds - whole) * 1000))
    }

    /// Reads an RFC 3339 time as Vault writes it: `2026-11-29T04:10:11.123456789Z`, or with an offset
    /// (`+01:00`) instead of `Z`. Nil for anything else. Fixed-width fields and timegm, for the reason
    /// above: a Vault read parses one of these on every cache miss.
    public static func parseRFC3339(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var value: Int32 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        let dash = UInt8(ascii: "-")
        let colon = UInt8(ascii: ":")
        guard bytes[4] == dash, bytes[7] == dash, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == colon, bytes[16] == colon,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var rest = bytes[19...]
        var fraction = 0.0
        if rest.first == UInt8(ascii: ".") {
            let digits = rest.dropFirst().prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard !digits.isEmpty, let value = Double("0." + String(decoding: digits, as: UTF8.self)) else {
                return nil
            }
            fraction = value
            rest = rest.dropFirst(1 + digits.count)
        }
        var offset = 0
        switch rest.first {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard rest.count == 1 else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = rest.startIndex
            guard rest.count == 6, bytes[sign + 3] == colon, let hours = number(sign + 1..<sign + 3),
                let minutes = number(sign + 4..<sign + 6)
            else { return nil }
            offset = Int(hours * 3600 + minutes * 60) * (bytes[sign] == dash ? -1 : 1)
        default:
            return nil
        }
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }
}
