import Foundation

/// A JSON value as `.status` and `.rotate` write them, compared by kind: `true` is not `1`.
enum JSONValue: Sendable, Equatable, Decodable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral
{
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The value at a dotted key path (`cache.backend_calls`).
    func at(_ keyPath: String) -> JSONValue? {
        var value: JSONValue? = self
        for key in keyPath.split(separator: ".") {
            guard case .object(let members)? = value else { return nil }
            value = members[String(key)]
        }
        return value
    }
}

/// One thing a JSON document must hold, by dotted key path.
enum JSONCheck: Sendable {
    case equals(String, JSONValue)
    case differs(String, JSONValue)
    case atLeast(String, Double)
    case present(String)
    case absent(String)
    /// The array at the path has an object with (at least) these members.
    case hasElement(String, [String: JSONValue])

    func mismatch(_ document: JSONValue) -> String? {
        switch self {
        case .equals(let path, let expected):
            let got = document.at(path)
            return got == expected ? nil : "\(path) is \(got.map { "\($0)" } ?? "absent"), expected \(expected)"
        case .differs(let path, let unexpected):
            return document.at(path) == unexpected ? "\(path) is \(unexpected)" : nil
        case .atLeast(let path, let least):
            guard case .number(let got)? = document.at(path) else { return "\(path) is not a number" }
            return got >= least ? nil : "\(path) is \(got), expected at least \(least)"
        case .present(let path):
            return document.at(path) == nil ? "\(path) is absent" : nil
        case .absent(let path):
            return document.at(path) == nil ? nil : "\(path) is present"
        case .hasElement(let path, let members):
            guard case .array(let elements)? = document.at(path) else { return "\(path) is not an array" }
            let found = elements.contains { element in
                guard case .object(let got) = element else { return false }
                return members.allSatisfy { got[$0.key] == $0.value }
            }
            return found ? nil : "\(path) has no element with \(members)"
        }
    }

    static func mismatch(_ checks: [JSONCheck], in bytes: [UInt8]) -> String? {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            return "\(bytes.count) bytes that are not one JSON document"
        }
        return checks.lazy.compactMap { $0.mismatch(document) }.first
    }
}
