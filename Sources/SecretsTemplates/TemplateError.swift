/// A template that cannot be used, with where it went wrong. Never carries a secret's value:
/// Stencil's messages quote the template's own text, which is configuration, not a secret.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var origin: String
    public var line: Int?
    public var column: Int?
    public var reason: String

    public init(origin: String, line: Int? = nil, column: Int? = nil, reason: String) {
        self.origin = origin
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        switch (line, column) {
        case (let line?, let column?): "\(origin):\(line):\(column): \(reason)"
        case (let line?, nil): "\(origin):\(line): \(reason)"
        default: "\(origin): \(reason)"
        }
    }
}
