import SecretsCore
import Testing

@Suite struct SecretValueTests {
    let planted = "PLANTED-value-123"

    @Test func neverPrintsItsBytes() {
        let value = SecretValue(string: planted)
        var dumped = ""
        dump(value, to: &dumped)
        let renderings = [
            value.description, value.debugDescription, String(describing: value), String(reflecting: value),
            "\(value)", dumped, "\(Secret(content: .value(value), version: "1", createdAt: nil))",
            "\(SecretContent.fields(["f": value]))", "\([value])", "\(Optional(value) as Any)",
        ]
        for rendering in renderings {
            #expect(!rendering.contains(planted))
            #expect(!rendering.contains("PLANTED"))
        }
        #expect(value.description == "<secret: \(planted.utf8.count) bytes>")
        #expect(Mirror(reflecting: value).children.isEmpty)
    }

    @Test func equalityComparesBytes() {
        #expect(SecretValue(string: "abc") == SecretValue(bytes: Array("abc".utf8)))
        #expect(SecretValue(string: "abc") != SecretValue(string: "abd"))
        #expect(SecretValue(string: "abc") != SecretValue(string: "ab"))
        #expect(SecretValue(bytes: []) == SecretValue(string: ""))
        #expect(SecretValue(bytes: [0]) != SecretValue(bytes: []))
    }

    @Test func keepsBinaryBytesExactly() {
        let bytes: [UInt8] = [0, 255, 0xc3, 0x28, 10, 0]
        let value = SecretValue(bytes: bytes)
        #expect(value.copyBytes() == bytes)
        #expect(value.count == 6)
        #expect(!value.isEmpty)
        #expect(value.utf8String() == nil)
        #expect(value.withUnsafeBytes { Array($0) } == bytes)
        #expect(SecretValue(bytes: []).isEmpty)
        #expect(SecretValue(string: "héllo").utf8String() == "héllo")
    }

    @Test func slicesAreClamped() {
        let value = SecretValue(string: "0123456789")
        #expect(value.slice(offset: 2, length: 3) == Array("234".utf8))
        #expect(value.slice(offset: 8, length: 100) == Array("89".utf8))
        #expect(value.slice(offset: 20, length: 5) == [])
        #expect(value.slice(offset: -5, length: 2) == Array("01".utf8))
        #expect(value.slice(offset: 3, length: -1) == [])
    }

    @Test func zeroingInitEmptiesTheSource() {
        var source: [UInt8] = Array("sensitive".utf8)
        let value = SecretValue(zeroing: &source)
        #expect(source.isEmpty)
        #expect(value.utf8String() == "sensitive")
    }

    @Test func copiesShareTheBytesAndOutliveTheOriginal() {
        var copy: SecretValue?
        do {
            let original = SecretValue(string: "shared")
            copy = original
        }
        #expect(copy?.utf8String() == "shared")
    }
}
