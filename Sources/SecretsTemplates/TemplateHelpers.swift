import Foundation

/// The escaping helpers a template applies by name. Nothing is escaped unless a template asks:
/// a value goes out byte for byte by default.
enum TemplateHelpers {
    /// A JSON string literal, quotes included: `{"password": {{ "db/password"|secret|json }}}`.
    static func json(_ bytes: [UInt8]) -> String {
        // Foundation's encoder is the one JSON writer; a top-level string is allowed since 2019.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let text = String(decoding: bytes, as: UTF8.self)
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// One POSIX shell word: single quotes, each `'` written as `'\''`.
    static func shell(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// A PEM block ending in exactly one newline, so blocks written one after another join into a
    /// bundle (certificate, then chain) whatever each secret's trailing whitespace.
    static func pem(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.endIndex
        while end > bytes.startIndex, [0x0A, 0x0D, 0x20, 0x09].contains(bytes[end - 1]) { end -= 1 }
        guard end > bytes.startIndex else { return [] }
        return Array(bytes[..<end]) + [0x0A]
    }
}
