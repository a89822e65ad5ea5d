import SecretsCore
import Testing

@Suite struct SecretPathTests {
    private func code(_ string: String) -> SecretError.Code? {
        do {
            _ = try SecretPath(string)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func parsesSegments() throws {
        #expect(try SecretPath("openai/api_key").segments == ["openai", "api_key"])
        #expect(try SecretPath("a").segments == ["a"])
        #expect(try SecretPath("a.b/c-d/e f").segments == ["a.b", "c-d", "e f"])
        #expect(try SecretPath("openai/api_key").string == "openai/api_key")
    }

    @Test func refusesNamesThatCannotBeShown() {
        for bad in ["a//b", "a/./b", "a/../b", ".", "..", ".hidden", "a/.versions", "a/\u{0}b", "a/b\u{0}"] {
            #expect(code(bad) == .invalidArgument, "\(bad.debugDescription)")
        }
    }

    @Test func enforcesTheNameLengthInBytes() throws {
        let longest = String(repeating: "a", count: 255)
        #expect(try SecretPath("x/\(longest)").name == longest)
        #expect(code("x/" + String(repeating: "a", count: 256)) == .nameTooLong)
        // 128 two-byte characters are 256 bytes, though only 128 characters.
        #expect(code(String(repeating: "é", count: 128)) == .nameTooLong)
        #expect(code(String(repeating: "é", count: 127)) == nil)
    }

    @Test func toleratesOneLeadingAndTrailingSlash() throws {
        #expect(try SecretPath("/a/b/") == SecretPath("a/b"))
        #expect(try SecretPath("/a") == SecretPath("a"))
        #expect(code("a//") == .invalidArgument)
        #expect(code("//a") == .invalidArgument)
    }

    @Test func theEmptyPathIsTheRoot() throws {
        #expect(try SecretPath("").isRoot)
        #expect(try SecretPath("/").isRoot)
        #expect(SecretPath.root.description == "/")
        #expect(SecretPath.root.string == "")
        #expect(SecretPath.root.parent == nil)
        #expect(SecretPath.root.name == "")
    }

    @Test func segmentsInitializerChecksEachSegment() throws {
        #expect(try SecretPath(segments: ["a", "b"]) == SecretPath("a/b"))
        #expect(throws: SecretError.self) { try SecretPath(segments: ["a/b"]) }
        #expect(throws: SecretError.self) { try SecretPath(segments: [""]) }
        #expect(throws: SecretError.self) { try SecretPath(segments: ["..", "x"]) }
    }

    @Test func parentNameAndAppending() throws {
        let p = try SecretPath("a/b/c")
        #expect(p.name == "c")
        #expect(p.parent == (try SecretPath("a/b")))
        #expect(try SecretPath("a").parent == .root)
        #expect(try p.appending("d") == SecretPath("a/b/c/d"))
        #expect(throws: SecretError.self) { try p.appending(".rotate") }
        #expect(throws: SecretError.self) { try p.appending("x/y") }
        #expect(p.appending(try SecretPath("d/e")) == (try SecretPath("a/b/c/d/e")))
        #expect(SecretPath.root.appending(p) == p)
    }

    @Test func prefixAndRelative() throws {
        let p = try SecretPath("a/b/c")
        #expect(p.hasPrefix(try SecretPath("a/b")))
        #expect(p.hasPrefix(.root))
        #expect(p.hasPrefix(p))
        #expect(!p.hasPrefix(try SecretPath("a/bc")))
        #expect(!(try SecretPath("ab/c")).hasPrefix(try SecretPath("a")))
        #expect(p.relative(to: try SecretPath("a")) == (try SecretPath("b/c")))
        #expect(p.relative(to: p) == .root)
        #expect(p.relative(to: try SecretPath("x")) == nil)
    }

    @Test func ordersBySegments() throws {
        let sorted = try ["b", "a/z", "a", "a/b"].map { try SecretPath($0) }.sorted()
        #expect(sorted.map(\.string) == ["a", "a/b", "a/z", "b"])
    }

    @Test func errorsNameTheRuleNotTheName() {
        do {
            _ = try SecretPath("x/" + String(repeating: "q", count: 300))
            Issue.record("a long name was accepted")
        } catch {
            #expect(!error.description.contains("qqqq"))
        }
    }
}
