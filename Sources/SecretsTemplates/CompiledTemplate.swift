import Foundation
import SecretsCore
@preconcurrency import Stencil

/// One input as the mount read it for a render.
public struct TemplateInput: Sendable {
    public var value: SecretValue
    public var version: String
    public var changedAt: Date?

    public init(value: SecretValue, version: String, changedAt: Date?) {
        self.value = value
        self.version = version
        self.changedAt = changedAt
    }
}

/// A rendered file's bytes and what they were made from (names and versions only: what the
/// file's extended attributes show).
public struct RenderedOutput: Sendable {
    public var value: SecretValue
    public var inputs: [TemplateReference: String]
    /// The newest input's version time: the file's `st_mtime`.
    public var newestChange: Date?
}

/// A Stencil template checked at mount. Its secrets are named by quoted paths piped through the
/// `secret` filter (`{{ "db/password"|secret|json }}`), so any name the mount shows can be
/// reached, `/`, `.` and `@` included.
public struct CompiledTemplate: Sendable {
    public let origin: String
    public let text: String
    /// The inputs a render reaches when every input is empty; a template whose `if` depends on a
    /// value may reach more, which `render` fetches as it finds them.
    public let inputs: [TemplateReference]

    /// How many rounds of "render, fetch what it asked for" before giving up: each round can
    /// only add inputs a conditional opened, so a real template settles in two.
    static let maximumRounds = 4

    public init(text: String, origin: String) throws(TemplateError) {
        self.origin = origin
        self.text = text
        // Rendered once with every input empty: this parses the whole template (Stencil parses
        // at render) and finds the inputs. No value exists yet, so an error may be quoted whole.
        if let unclosed = Self.unclosedTag(in: text) {
            throw TemplateError(
                origin: origin, line: unclosed.line, column: unclosed.column,
                reason: "'\(unclosed.opener)' is never closed by '\(unclosed.closer)'")
        }
        let pass = RenderPass(values: [:])
        do {
            _ = try pass.render(text, origin: origin)
        } catch {
            throw Self.located(error, origin: origin, reasonKept: true)
        }
        self.inputs = pass.missing.sorted { $0.description < $1.description }
    }

    /// Renders with inputs from `fetch`, which throws the input's own error (not found, denied,
    /// unavailable) for the read to fail with.
    public func render(
        fetch: @Sendable (TemplateReference) async throws -> TemplateInput
    ) async throws -> RenderedOutput {
        var fetched: [TemplateReference: TemplateInput] = [:]
        var wanted = inputs
        for _ in 0..<Self.maximumRounds {
            for reference in wanted where fetched[reference] == nil {
                fetched[reference] = try await fetch(reference)
            }
            let pass = RenderPass(values: fetched.mapValues { $0.value.copyBytes() })
            defer { pass.zeroValues() }
            var text: String
            do {
                text = try pass.render(self.text, origin: origin)
            } catch {
                // Now the inputs hold values: keep only where it failed.
                throw Self.located(error, origin: origin, reasonKept: false)
            }
            guard pass.missing.isEmpty else {
                wanted = Array(pass.missing)
                continue
            }
            var bytes = Array(text.utf8)
            text = ""
            let used = fetched.filter { pass.used.contains($0.key) }
            return RenderedOutput(
                value: SecretValue(zeroing: &bytes),
                inputs: used.mapValues(\.version),
                newestChange: used.values.compactMap(\.changedAt).max())
        }
        throw TemplateError(origin: origin, reason: "its inputs kept changing with their values; not rendered")
    }

    /// The first `{{`, `{%` or `{#` with no end after it. Stencil's lexer drops such a tag and the
    /// rest of the text without a word, so `password={{ "a"|secret ` would render as `password=`.
    /// Scans as that lexer does: an opener, then the first closer after it.
    static func unclosedTag(in text: String) -> (opener: String, closer: String, line: Int, column: Int)? {
        let closers: [Character: Character] = ["{": "}", "%": "%", "#": "#"]
        var line = 1
        var column = 1
        var open: (opener: String, closer: String, line: Int, column: Int)?
        var previous: Character?
        for character in text {
            if let tag = open {
                if previous == tag.closer.first, character == "}" {
                    open = nil
                    previous = nil
                } else {
                    previous = character
                }
            } else if previous == "{", let closer = closers[character] {
                open = ("{" + String(character), String(closer) + "}", line, column - 1)
                previous = nil
            } else {
                previous = character
            }
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return open
    }

    static func located(_ error: any Error, origin: String, reasonKept: Bool) -> TemplateError {
        guard let syntax = error as? TemplateSyntaxError else {
            return TemplateError(origin: origin, reason: reasonKept ? "\(error)" : "the template failed to render")
        }
        let location = syntax.token?.sourceMap.location
        return TemplateError(
            origin: origin, line: location.map { Int($0.lineNumber) }, column: location.map { Int($0.lineOffset) + 1 },
            reason: reasonKept ? syntax.reason : "the template failed to render")
    }
}

/// One render through Stencil, with our filters bound to this render's inputs.
final class RenderPass {
    private var values: [TemplateReference: [UInt8]]
    private(set) var missing: Set<TemplateReference> = []
    private(set) var used: Set<TemplateReference> = []

    init(values: [TemplateReference: [UInt8]]) { self.values = values }

    func render(_ text: String, origin: String) throws -> String {
        let helpers = Extension()
        helpers.registerFilter("secret") { [unowned self] value in
            guard let quoted = value as? String, let reference = TemplateReference(parsing: quoted) else {
                throw TemplateSyntaxError(
                    "'secret' takes a quoted path in the mount, such as \"db/password\" or \"db/password@3\"")
            }
            used.insert(reference)
            guard let bytes = values[reference] else {
                missing.insert(reference)
                return ""
            }
            return TemplateText.value(bytes)
        }
        helpers.registerFilter("json") { TemplateHelpers.json(TemplateText.bytes(of: $0)) }
        helpers.registerFilter("shell") { TemplateHelpers.shell(TemplateText.bytes(of: $0)) }
        helpers.registerFilter("pgpass") { try TemplateHelpers.pgpass(TemplateText.bytes(of: $0)) }
        helpers.registerFilter("base64") { TemplateHelpers.base64(TemplateText.bytes(of: $0)) }
        helpers.registerFilter("pem") { TemplateText.value(TemplateHelpers.pem(TemplateText.bytes(of: $0))) }
        let environment = Environment(extensions: [helpers])
        return try Template(templateString: text, environment: environment, name: origin).render()
    }

    func zeroValues() {
        for key in values.keys {
            values[key]!.withUnsafeMutableBytes { SecretValue.zero($0) }
        }
    }
}
