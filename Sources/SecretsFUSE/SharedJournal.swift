import CFUSE
import SecretsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Records kept in anonymous shared memory (a memfd) that outlives the worker writing them: the
/// supervisor holds the descriptor, every worker maps it. Never on a disk.
///
/// Two halves, so the records can be rewritten without a moment where none are valid: the header
/// names the half in use and its committed length, stored after the bytes it covers. A worker
/// killed mid-write leaves a length that does not cover its last record, which is then unseen.
final class SharedJournal: @unchecked Sendable {
    private struct Header {
        static let magic: UInt64 = 0x7365_6372_6574_7331  // "secrets1"
        static let size = 64
    }

    private let fd: Int32
    private let base: UnsafeMutableRawPointer
    private let halfCapacity: Int
    private let lock = Mutex(())

    /// Maps the journal on `fd`, laying it out first when it is new (size 0). The file is sparse:
    /// memory is taken only for what is written.
    init?(fd: Int32, halfCapacity: Int) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let total = Header.size + 2 * halfCapacity
        if st.st_size == 0 {
            guard ftruncate(fd, off_t(total)) == 0 else { return nil }
        } else if Int(st.st_size) != total {
            return nil
        }
        guard let mapped = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            return nil
        }
        self.fd = fd
        self.base = mapped
        self.halfCapacity = halfCapacity
        if word(0) != Header.magic {
            setWord(1, 0)
            setWord(2, 0)
            setWord(3, 0)
            setWord(0, Header.magic)
        }
    }

    deinit { munmap(base, Header.size + 2 * halfCapacity) }

    private func word(_ index: Int) -> UInt64 {
        secretsfs_load_acquire(base.advanced(by: index * 8).assumingMemoryBound(to: UInt64.self))
    }

    private func setWord(_ index: Int, _ value: UInt64) {
        secretsfs_store_release(base.advanced(by: index * 8).assumingMemoryBound(to: UInt64.self), value)
    }

    private var active: Int { Int(word(1) & 1) }
    private func length(_ half: Int) -> Int { Int(word(2 + half)) }
    private func start(_ half: Int) -> UnsafeMutableRawPointer { base + Header.size + half * halfCapacity }

    /// Marks that outlive every worker, in the header's fifth word: set once, never cleared.
    func setMark(_ bit: UInt64) {
        lock.withLock { _ in setWord(4, word(4) | bit) }
    }

    func hasMark(_ bit: UInt64) -> Bool { word(4) & bit != 0 }

    /// Calls `body` with each committed record, oldest first.
    func forEachRecord(_ body: (UnsafeRawBufferPointer) -> Void) {
        lock.withLock { _ in
            let half = active
            // Capped: the length is read from memory another process wrote.
            let end = min(length(half), halfCapacity)
            var offset = 0
            let bytes = UnsafeRawBufferPointer(start: start(half), count: end)
            while offset + 4 <= end {
                let count = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                guard offset + 4 + count <= end else { break }
                body(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + count)]))
                offset += 4 + count
            }
        }
    }

    /// Appends one record; false when the half in use has no room for it.
    func append(_ record: UnsafeRawBufferPointer) -> Bool {
        lock.withLock { _ in
            let half = active
            let end = length(half)
            guard end + 4 + record.count <= halfCapacity else { return false }
            write(record, at: start(half) + end)
            setWord(2 + half, UInt64(end + 4 + record.count))
            return true
        }
    }

    /// Replaces every record with `records`, written to the other half before it becomes the one
    /// in use; the old half is then zeroed and its memory given back. False when they do not fit.
    func replace(with records: [UnsafeRawBufferPointer]) -> Bool {
        lock.withLock { _ in
            let old = active
            let new = 1 - old
            var end = 0
            for record in records {
                guard end + 4 + record.count <= halfCapacity else {
                    wipe(new, count: end)
                    return false
                }
                write(record, at: start(new) + end)
                end += 4 + record.count
            }
            setWord(2 + new, UInt64(end))
            setWord(1, UInt64(new))
            wipe(old, count: length(old))
            return true
        }
    }

    /// Zeroes everything: the mount is stopping and no worker will read it again.
    func wipeAll() {
        lock.withLock { _ in
            wipe(0, count: length(0))
            wipe(1, count: length(1))
        }
    }

    private func write(_ record: UnsafeRawBufferPointer, at destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: UInt32(record.count).littleEndian, as: UInt32.self)
        if let source = record.baseAddress, record.count > 0 {
            (destination + 4).copyMemory(from: source, byteCount: record.count)
        }
    }

    /// Zeroes the first `count` bytes of a half and returns its pages: a hole punched in a memfd
    /// reads as zeroes.
    private func wipe(_ half: Int, count: Int) {
        setWord(2 + half, 0)
        SecretValue.zero(UnsafeMutableRawBufferPointer(start: start(half), count: min(max(count, 0), halfCapacity)))
        _ = secretsfs_punch_hole(fd, Header.size + half * halfCapacity, halfCapacity)
    }
}
