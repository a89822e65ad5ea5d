/// The bytes of a secret. Never printed: `description` says only how long it is. The bytes live in
/// one heap buffer that copies of the value share, and the buffer is zeroed when the last copy goes.
public struct SecretValue: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let storage: Storage

    public init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        storage = Storage(count: bytes.count)
        _ = storage.buffer.initialize(from: bytes)
    }

    public init(string: String) {
        var string = string
        storage = string.withUTF8 { utf8 in
            let storage = Storage(count: utf8.count)
            _ = storage.buffer.initialize(from: utf8)
            return storage
        }
    }

    /// Takes the bytes and zeroes the array they came from.
    public init(zeroing source: inout [UInt8]) {
        self.init(bytes: source)
        source.zeroize()
        source.removeAll()
    }

    public var count: Int { storage.buffer.count }
    public var isEmpty: Bool { storage.buffer.isEmpty }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.buffer))
    }

    /// A copy of the bytes. The caller owns it and should not keep it longer than needed.
    public func copyBytes() -> [UInt8] { Array(storage.buffer) }

    /// A copy of `range`, clamped to the value's length.
    public func slice(offset: Int, length: Int) -> [UInt8] {
        let start = min(max(offset, 0), count)
        let end = min(start + max(length, 0), count)
        return Array(storage.buffer[start..<end])
    }

    /// Decodes the bytes as UTF-8, or nil when they are not.
    public func utf8String() -> String? {
        String(validating: storage.buffer, as: UTF8.self)
    }

    public var description: String { "<secret: \(count) bytes>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    public static func == (lhs: SecretValue, rhs: SecretValue) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<lhs.count { difference |= lhs.storage.buffer[index] ^ rhs.storage.buffer[index] }
        return difference == 0
    }

    final class Storage: @unchecked Sendable {
        // Written once in the value's init, then only read; shared between copies of the value.
        let buffer: UnsafeMutableBufferPointer<UInt8>
        private let base: UnsafeMutablePointer<UInt8>

        init(count: Int) {
            base = .allocate(capacity: max(count, 1))
            base.initialize(repeating: 0, count: max(count, 1))
            buffer = UnsafeMutableBufferPointer(start: base, count: count)
        }

        deinit {
            SecretValue.zero(UnsafeMutableRawBufferPointer(buffer))
            base.deallocate()
        }
    }
}
