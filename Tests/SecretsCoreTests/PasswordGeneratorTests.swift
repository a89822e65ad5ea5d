import SecretsCore
import Synchronization
import Testing

@Suite struct PasswordGeneratorTests {
    @Test func makes32LettersAndDigits() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        for _ in 0..<20 {
            let bytes = PasswordGenerator().generate().copyBytes()
            #expect(bytes.count == 32)
            #expect(bytes.allSatisfy(allowed.contains))
        }
        #expect(PasswordGenerator().generate() != PasswordGenerator().generate())
    }

    @Test func aFixedRandomSourceGivesAFixedValue() {
        // Counts 0, 1, 2, … through the alphabet.
        let counter = Mutex<UInt64>(0)
        let generator = PasswordGenerator(length: 5) { bound in
            counter.withLock { value in
                defer { value += 1 }
                return value % bound
            }
        }
        #expect(generator.generate().utf8String() == "ABCDE")
        #expect(generator.generate().utf8String() == "FGHIJ")
        let last = PasswordGenerator(length: 3) { bound in bound - 1 }
        #expect(last.generate().utf8String() == "999")
    }

    @Test func honoursLengthAndAlphabet() {
        let generator = PasswordGenerator(length: 64, alphabet: Array("xy".utf8))
        let bytes = generator.generate().copyBytes()
        #expect(bytes.count == 64)
        #expect(Set(bytes).isSubset(of: Set("xy".utf8)))
    }
}

@Suite struct SecretContentTests {
    let fresh = SecretValue(string: "fresh")

    @Test func rotatingAValueReplacesIt() throws {
        #expect(try SecretContent.value(SecretValue(string: "old")).rotated(field: nil, to: fresh) == .value(fresh))
    }

    @Test func rotatingAFieldKeepsTheOthers() throws {
        let user = SecretValue(string: "user")
        let content = SecretContent.fields(["username": user, "password": SecretValue(string: "old")])
        #expect(try content.rotated(field: "password", to: fresh) == .fields(["username": user, "password": fresh]))
    }

    @Test func rotationErrors() {
        let plain = SecretContent.value(SecretValue(string: "old"))
        let multi = SecretContent.fields(["a": SecretValue(string: "1")])
        #expect(throws: SecretError(.notFound, "secret has no fields")) { try plain.rotated(field: "a", to: fresh) }
        do {
            _ = try multi.rotated(field: nil, to: fresh)
            Issue.record("rotating a multi-field secret without a field succeeded")
        } catch {
            #expect(error.code == .invalidArgument)
        }
        do {
            _ = try multi.rotated(field: "b", to: fresh)
            Issue.record("rotating a missing field succeeded")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    @Test func fromMapFollowsVaultsValueRule() {
        let v = SecretValue(string: "v")
        #expect(SecretContent.fromMap(["value": v]) == .value(v))
        #expect(SecretContent.fromMap(["value": v, "other": v]) == .fields(["value": v, "other": v]))
        #expect(SecretContent.fromMap(["other": v]) == .fields(["other": v]))
        #expect(SecretContent.value(v).asMap == ["value": v])
        #expect(SecretContent.fields(["a": v]).asMap == ["a": v])
    }
}
