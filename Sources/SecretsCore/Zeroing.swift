#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension SecretValue {
    /// Zeroes bytes that held a value or a credential, in a way the compiler may not drop: the one
    /// place every target's zeroing goes through.
    public static func zero(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        #if canImport(Glibc)
            explicit_bzero(base, bytes.count)
        #else
            _ = memset_s(base, bytes.count, 0, bytes.count)
        #endif
    }
}

extension Array where Element == UInt8 {
    /// Overwrites a temporary copy of secret bytes (a request body once sent, a file once read) before
    /// it is freed.
    public mutating func zeroize() {
        withUnsafeMutableBytes { SecretValue.zero($0) }
    }
}
