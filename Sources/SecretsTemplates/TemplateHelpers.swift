import Foundation
@preconcurrency import Stencil

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

    /// One field of a `.pgpass` line: libpq reads `\:` as `:` and `\\` as `\`; anything else is
    /// as it is. A line break cannot be written (libpq reads one line per entry), so it is refused.
    static func pgpass(_ bytes: [UInt8]) throws -> String {
        guard !bytes.contains(0x0A), !bytes.contains(0x0D) else {
            throw TemplateSyntaxError("'pgpass' cannot write a line break: libpq reads one entry per line")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
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
