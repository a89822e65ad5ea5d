/// Makes the new values of rotations: letters and digits from a random source that tests can fix.
public struct PasswordGenerator: Sendable {
    public static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    /// The lengths every way of rotating takes (`.rotate`, `secretsfs rotate`): shorter is no secret,
    /// and longer than `.rotate` takes in one line is no password anyone types.
    public static let allowedLengths = 8...4096

    public var length: Int
    public var alphabet: [UInt8]
    private let nextRandom: @Sendable (UInt64) -> UInt64

    /// `nextRandom(n)` must return a uniform number below `n`.
    public init(
        length: Int = 32,
        alphabet: [UInt8] = PasswordGenerator.alphanumerics,
        nextRandom: @escaping @Sendable (UInt64) -> UInt64 = { bound in
            var generator = SystemRandomNumberGenerator()
            return generator.next(upperBound: bound)
        }
    ) {
        self.length = length
        self.alphabet = alphabet
        self.nextRandom = nextRandom
    }

    public func generate() -> SecretValue {
        var bytes = [UInt8](repeating: 0, count: length)
        for index in bytes.indices {
            bytes[index] = alphabet[Int(nextRandom(UInt64(alphabet.count)))]
        }
        return SecretValue(zeroing: &bytes)
    }
}

extension SecretContent {
    /// The content after `field` (or the whole value, when nil) takes `newValue`; every other
    /// field is kept as it was.
    public func rotated(field: String?, to newValue: SecretValue) throws(SecretError) -> SecretContent {
        switch (self, field) {
        case (.value, nil):
            return .value(newValue)
        case (.value, .some):
            throw SecretError(.notFound, "secret has no fields")
        case (.fields, nil):
            throw SecretError(.invalidArgument, "secret has several fields; name the field to rotate")
        case (.fields(var fields), .some(let name)):
            guard fields[name] != nil else { throw SecretError(.notFound, "no such field") }
            fields[name] = newValue
            return .fields(fields)
        }
    }
}
