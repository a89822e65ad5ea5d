import Crypto
import SecretsCore

import struct Foundation.Data

#if canImport(Glibc)
    import Glibc
#endif

/// `--cache-file`: the cache's answers kept on disk so a mount started while the backend is
/// unreachable (a reboot during an outage) serves what it had, stale within `--max-stale`. The whole
/// file is one ChaCha20-Poly1305 box (the local store's AEAD) under a key from `--cache-key-file`;
/// it is never written without one. Written to a new file beside it and renamed over it, so a crash
/// leaves the old file or the new one, never half of one.
public struct SealedCacheFile: Sendable {
    public let path: String
    private let key: StoreKey

    static let magic = Array("secretsfs cache file v1\n".utf8)
    /// Binds the box to what it is, so a sealed store value or another file's box does not open here.
    static let context = Array("secretsfs cache file v1".utf8)
    /// More than this is not a cache file of ours (the cache holds at most `--cache-max-entries`).
    static let limit = 512 << 20

    public init(path: String, key: StoreKey) {
        self.path = path
        self.key = key
    }

    /// The answers the file holds; none when there is no file yet. A file that does not open with the
    /// key (another key, altered, truncated) is an error naming the file, never its content.
    public func load() throws(SecretError) -> [(CacheKey, MirroredEntry)] {
        guard access(path, F_OK) == 0 else { return [] }
        var raw = try TrustedFile.read(path, what: "the cache file", secret: true, limit: Self.limit)
        defer { raw.zeroize() }
        guard raw.starts(with: Self.magic) else {
            throw SecretError(.configuration, "\(path) is not a secretsfs cache file")
        }
        var plain: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(combined: Data(raw[Self.magic.count...]))
            var opened = try ChaChaPoly.open(box, using: key.key, authenticating: Self.context)
            defer { opened.withUnsafeMutableBytes { SecretValue.zero($0) } }
            plain = [UInt8](opened)
        } catch {
            throw SecretError(
                .configuration, "the cache file \(path) does not open with the key in \(key.source) (another key?)")
        }
        defer { plain.zeroize() }
        return try Self.records(in: plain, file: path)
    }

    /// Replaces the file with one holding `entries`, mode 0600.
    public func write(_ entries: [(CacheKey, MirroredEntry)]) throws(SecretError) {
        var records = entries.map { MirrorCodec.encode($0.0, $0.1) }
        defer { for index in records.indices { records[index].zeroize() } }
        var plain: [UInt8] = []
        // Reserved at once: a buffer that grows leaves copies of the values it held behind.
        plain.reserveCapacity(records.reduce(0) { $0 + 4 + $1.count })
        defer { plain.zeroize() }
        for record in records {
            withUnsafeBytes(of: UInt32(record.count).littleEndian) { plain.append(contentsOf: $0) }
            plain.append(contentsOf: record)
        }
        let sealed: [UInt8]
        do {
            sealed =
                Self.magic + [UInt8](try ChaChaPoly.seal(plain, using: key.key, authenticating: Self.context).combined)
        } catch {
            throw SecretError(.internal, "sealing the cache file failed")
        }
        try Self.replace(path, with: sealed)
    }

    private static func records(in plain: [UInt8], file: String) throws(SecretError) -> [(CacheKey, MirroredEntry)] {
        var latest: [CacheKey: MirroredEntry] = [:]
        var offset = 0
        while offset < plain.count {
            guard offset + 4 <= plain.count else { throw damaged(file) }
            let length = plain[offset..<offset + 4].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            offset += 4
            guard length <= plain.count - offset else { throw damaged(file) }
            let decoded = plain[offset..<offset + length].withUnsafeBytes { MirrorCodec.decode($0) }
            guard let (key, entry) = decoded else { throw damaged(file) }
            latest[key] = entry
            offset += length
        }
        return latest.map { ($0.key, $0.value) }
    }

    private static func damaged(_ file: String) -> SecretError {
        SecretError(.malformedResponse, "the cache file \(file) opens but its records are damaged")
    }

    /// A new file in the same folder, written and synced, renamed over `path`; the folder synced so
    /// the rename survives a crash.
    private static func replace(_ path: String, with bytes: [UInt8]) throws(SecretError) {
        let temporary = "\(path).\(getpid()).new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create", temporary) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let error = failure("cannot write", temporary)
                close(fd)
                unlink(temporary)
                throw error
            }
            written += count
        }
        guard fsync(fd) == 0 else {
            let error = failure("cannot sync", temporary)
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot replace", path)
            unlink(temporary)
            throw error
        }
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) }.flatMap { $0.isEmpty ? "/" : $0 } ?? "."
        let folderFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD >= 0 {
            _ = fsync(folderFD)
            close(folderFD)
        }
    }

    private static func failure(_ what: String, _ path: String) -> SecretError {
        SecretError(.unavailable, "\(what) the cache file \(path): \(String(cString: strerror(errno)))")
    }
}
