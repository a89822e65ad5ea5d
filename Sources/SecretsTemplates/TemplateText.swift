import Foundation
import SecretsCore

/// A secret's bytes that are not UTF-8, while Stencil passes them from filter to filter: `base64`
/// needs the bytes, not a String decoded from them. UTF-8 values travel as Strings, so Stencil's
/// `==`, `if` and built-in filters treat them as text.
struct TemplateText: CustomStringConvertible {
    var bytes: [UInt8]

    static func value(_ bytes: [UInt8]) -> Any {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return TemplateText(bytes: bytes)
    }

    var description: String { String(decoding: bytes, as: UTF8.self) }

    /// What a filter receives: our own text, a Swift string, a number from a literal, or nothing.
    static func bytes(of value: Any?) -> [UInt8] {
        switch value {
        case let text as TemplateText: text.bytes
        case let string as String: Array(string.utf8)
        case nil: []
        case let other?: Array(String(describing: other).utf8)
        }
    }
}
