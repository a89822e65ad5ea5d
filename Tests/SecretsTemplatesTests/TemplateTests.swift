import Foundation
import SecretsCore
import Testing

@testable import SecretsTemplates

/// A fixed set of inputs; unknown paths fail as a store's missing secret does.
struct Inputs: Sendable {
    var values: [String: String]
    var fetched = Counter()

    func fetch(_ reference: TemplateReference) async throws -> TemplateInput {
        fetched.add(reference.description)
        guard let value = values[reference.description] else {
            throw SecretError(.notFound, "no such secret")
        }
        let version = reference.version ?? "7"
        return TemplateInput(
            value: SecretValue(string: value), version: version,
            changedAt: Date(timeIntervalSince1970: Double(values.count * 100 + value.count)))
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [String] = []
    func add(_ name: String) { lock.withLock { names.append(name) } }
    var all: [String] { lock.withLock { names } }
}

func rendered(_ text: String, _ values: [String: String]) async throws -> String {
    let template = try CompiledTemplate(text: text, origin: "test.tmpl")
    let output = try await template.render(fetch: Inputs(values: values).fetch)
    return output.value.utf8String() ?? "<not utf8>"
}

@Suite struct TemplateRendering {
    @Test func valuesGoOutByteForByteWithNoHTMLEscaping() async throws {
        let text = try await rendered(
            "db.internal:5432:app:{{ \"db/username\"|secret }}:{{ \"db/password\"|secret }}\n",
            ["db/username": "alice", "db/password": "p<&>\"'ss"])
        #expect(text == "db.internal:5432:app:alice:p<&>\"'ss\n")
    }

    @Test func jsonHelperWritesAQuotedEscapedString() async throws {
        let text = try await rendered(
            "{\"user\": {{ \"db/username\"|secret|json }}, \"password\": {{ \"db/password\"|secret|json }}}",
            ["db/username": "a/b", "db/password": "q\"uo\\te\n\u{1}"])
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(object == ["user": "a/b", "password": "q\"uo\\te\n\u{1}"])
    }

    @Test func shellHelperQuotesOneWord() async throws {
        let text = try await rendered("PASSWORD={{ \"db/password\"|secret|shell }}", ["db/password": "it's $HOME `x`"])
        #expect(text == "PASSWORD='it'\\''s $HOME `x`'")
    }

    @Test func pgpassHelperEscapesColonsAndBackslashes() async throws {
        let text = try await rendered(
            "h:5432:db:{{ \"u\"|secret|pgpass }}:{{ \"p\"|secret|pgpass }}", ["u": "a:b", "p": #"pa\ss:w0rd"#])
        #expect(text == #"h:5432:db:a\:b:pa\\ss\:w0rd"#)
        await #expect(throws: TemplateError.self) {
            _ = try await rendered("{{ \"p\"|secret|pgpass }}", ["p": "two\nlines"])
        }
    }

    @Test func base64HelperEncodesTheBytes() async throws {
        #expect(try await rendered("{{ \"k\"|secret|base64 }}", ["k": "hello"]) == "aGVsbG8=")
    }

    @Test func pemHelperJoinsBlocksWithOneNewlineEach() async throws {
        let text = try await rendered(
            "{{ \"tls/cert\"|secret|pem }}{{ \"tls/chain\"|secret|pem }}",
            [
                "tls/cert": "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----",
                "tls/chain": "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n\n\n",
            ])
        #expect(
            text == "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
                + "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n")
    }

    @Test func versionsAndLabelsAreInputsOfTheirOwn() async throws {
        let template = try CompiledTemplate(
            text: "{{ \"db/password@3\"|secret }} {{ \"db/password@previous\"|secret }} {{ \"web.crt\"|secret }}",
            origin: "t")
        #expect(template.inputs.map(\.description) == ["db/password@3", "db/password@previous", "web.crt"])
        let output = try await template.render(
            fetch: Inputs(values: ["db/password@3": "three", "db/password@previous": "prev", "web.crt": "c"]).fetch)
        #expect(output.value.utf8String() == "three prev c")
        #expect(output.inputs[TemplateReference(path: "db/password", version: "3")] == "3")
    }

    @Test func inputsOpenedByAConditionalAreFetchedToo() async throws {
        let text = "{% if \"flags/tls\"|secret == \"on\" %}{{ \"tls/key\"|secret }}{% else %}plain{% endif %}"
        let template = try CompiledTemplate(text: text, origin: "t")
        let inputs = Inputs(values: ["flags/tls": "on", "tls/key": "K"])
        let output = try await template.render(fetch: inputs.fetch)
        #expect(output.value.utf8String() == "K")
        #expect(Set(output.inputs.keys.map(\.description)) == ["flags/tls", "tls/key"])
    }

    @Test func aMissingInputFailsTheRenderWithItsOwnError() async throws {
        let template = try CompiledTemplate(text: "{{ \"db/password\"|secret }}", origin: "t")
        await #expect(throws: SecretError.self) {
            try await template.render(fetch: Inputs(values: [:]).fetch)
        }
    }

    @Test func newestChangeIsTheLatestInputTime() async throws {
        let template = try CompiledTemplate(text: "{{ \"a\"|secret }}{{ \"b\"|secret }}", origin: "t")
        let output = try await template.render(fetch: Inputs(values: ["a": "x", "b": "yyyy"]).fetch)
        #expect(output.newestChange == Date(timeIntervalSince1970: 204))
    }

    @Test func aHundredInputsRenderInOrder() async throws {
        var values: [String: String] = [:]
        var text = ""
        for index in 0..<100 {
            values["s/\(index)"] = "v\(index)"
            text += "{{ \"s/\(index)\"|secret }},"
        }
        let template = try CompiledTemplate(text: text, origin: "t")
        #expect(template.inputs.count == 100)
        let output = try await template.render(fetch: Inputs(values: values).fetch)
        #expect(output.value.utf8String() == (0..<100).map { "v\($0)," }.joined())
    }
}

@Suite struct TemplateChecks {
    @Test func anUnclosedTagIsRefusedWithItsLine() throws {
        #expect {
            _ = try CompiledTemplate(text: "line one\n{% if \"a\"|secret %}\nno end", origin: "db.json.tmpl")
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.origin == "db.json.tmpl" && error.line == 2 && error.column != nil
                && error.description.hasPrefix("db.json.tmpl:2:")
        }
    }

    @Test func anUnclosedVariableIsRefusedNotDropped() throws {
        #expect {
            _ = try CompiledTemplate(text: "user=x\npassword={{ \"app/key\"|secret ", origin: "t")
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.line == 2 && error.column == 10 && error.reason.contains("'{{' is never closed")
        }
        #expect(throws: TemplateError.self) { _ = try CompiledTemplate(text: "a {# note", origin: "t") }
        #expect(throws: TemplateError.self) { _ = try CompiledTemplate(text: "{{ \"a\"|secret }} {{", origin: "t") }
        // Closed tags, and braces that open nothing, are fine.
        _ = try CompiledTemplate(text: "{ \"k\": {{ \"a\"|secret|json }} } {%if 1%}x{%endif%} {# c #}", origin: "t")
    }

    @Test func anUnknownFilterIsRefused() throws {
        #expect {
            _ = try CompiledTemplate(text: "a\nb {{ \"x\"|secret|jsn }}", origin: "f")
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.line == 2 && error.reason.contains("jsn")
        }
    }

    @Test func secretNeedsAQuotedPath() throws {
        #expect(throws: TemplateError.self) { _ = try CompiledTemplate(text: "{{ db|secret }}", origin: "f") }
        #expect(throws: TemplateError.self) { _ = try CompiledTemplate(text: "{{ \"../x\"|secret }}", origin: "f") }
        #expect(throws: TemplateError.self) { _ = try CompiledTemplate(text: "{{ \"x@\"|secret }}", origin: "f") }
    }

    @Test func aRenderErrorNeverQuotesAValue() async throws {
        // `for` over a value is allowed by Stencil; make the second round fail on a value instead:
        // an input that names another input through its value cannot be expressed, so check the
        // error path directly.
        let error = CompiledTemplate.located(
            TemplateError(origin: "x", reason: "hunter2-password"), origin: "f", reasonKept: false)
        #expect(!error.description.contains("hunter2-password"))
    }

    @Test func referencesParse() {
        #expect(TemplateReference(parsing: "db/password@3") == TemplateReference(path: "db/password", version: "3"))
        #expect(TemplateReference(parsing: "user@example.com/key") == TemplateReference(path: "user@example.com/key"))
        #expect(TemplateReference(parsing: "a//b") == nil)
        #expect(TemplateReference(parsing: "") == nil)
    }
}

@Suite struct BinaryValues {
    @Test func base64KeepsBytesThatAreNotUTF8() async throws {
        let template = try CompiledTemplate(text: "{{ \"bin\"|secret|base64 }}", origin: "t")
        let output = try await template.render { _ in
            TemplateInput(value: SecretValue(bytes: [0xFF, 0x00, 0xFE]), version: "1", changedAt: nil)
        }
        #expect(output.value.utf8String() == "/wD+")
    }
}
