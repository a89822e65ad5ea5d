import CFUSE
import Foundation
import SecretsCore
import SecretsFileSystem
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// The worker's use of what its supervisor handed over: the credentials, and the shared journals
/// that carry nodes, cached answers and leases from one worker to the next.
extension WorkerChannel {
    /// Halves of the shared journals: sparse, so only what is written takes memory.
    static let inodeJournalHalf = 64 << 20
    static let cacheJournalHalf = 512 << 20
    static let leaseJournalHalf = 4 << 20

    /// The credentials the supervisor handed over, read once; the memory they were in stays with
    /// the supervisor's descriptor, which only workers map.
    public func takeCredentials() -> [String: String] {
        var st = stat()
        guard fstat(credentials, &st) == 0, st.st_size > 0 else { return [:] }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        defer { bytes.withUnsafeMutableBytes { SecretValue.zero($0) } }
        guard pread(credentials, &bytes, bytes.count, 0) == bytes.count else { return [:] }
        var result: [String: String] = [:]
        for entry in bytes.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return result
    }

    /// The inode records the previous workers wrote, and a journal for this one's.
    public func inodeContinuity(pid: Int32, startedAt: Date) -> WorkerContinuity {
        guard let journal = SharedJournal(fd: inodes, halfCapacity: Self.inodeJournalHalf) else {
            return WorkerContinuity(generation: generation, worker: identity(pid: pid, startedAt: startedAt))
        }
        var records: [[UInt8]] = []
        journal.forEachRecord { records.append(Array($0)) }
        return WorkerContinuity(
            restoredInodes: records, journal: SharedInodeJournal(journal: journal), generation: generation,
            worker: identity(pid: pid, startedAt: startedAt))
    }

    private func identity(pid: Int32, startedAt: Date) -> WorkerIdentity {
        WorkerIdentity(
            pid: pid, startedAt: startedAt, restarts: restarts, reloads: reloads, supervisorPID: supervisor)
    }

    /// Whether a worker of this mount has served it letting the kernel open files without asking
    /// (`CachingMode.kernelOpens`). The kernel remembers the first OPEN answered ENOSYS for the life
    /// of the connection, so no later worker sees an open again: one that needs every open (a policy,
    /// an audit log, `.events`) cannot take over (DESIGN §10, no silent downgrade).
    public var kernelKeepsOpens: Bool {
        SharedJournal(fd: inodes, halfCapacity: Self.inodeJournalHalf)?.hasMark(Self.kernelOpensMark) ?? false
    }

    /// Records, before serving, that this worker lets the kernel open files without asking.
    public func noteKernelKeepsOpens() {
        SharedJournal(fd: inodes, halfCapacity: Self.inodeJournalHalf)?.setMark(Self.kernelOpensMark)
    }

    private static let kernelOpensMark: UInt64 = 1

    /// The cache's mirror, with what earlier workers left in it.
    public func cacheMirror() -> (mirror: SharedCacheMirror, restored: [(CacheKey, MirroredEntry)])? {
        guard let journal = SharedJournal(fd: cache, halfCapacity: Self.cacheJournalHalf) else { return nil }
        var latest: [CacheKey: MirroredEntry] = [:]
        journal.forEachRecord { bytes in
            guard let (key, entry) = MirrorCodec.decode(bytes) else { return }
            latest[key] = entry
        }
        return (SharedCacheMirror(journal: journal), latest.map { ($0.key, $0.value) })
    }
}

extension WorkerChannel {
    /// The leases earlier workers held, and where this one records its own.
    public func leaseJournal() -> (any LeaseJournal)? {
        // A supervisor older than leases hands four descriptors: the number may then be any file this
        // worker opened (an audit log), which must not be laid out as a journal.
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink("/proc/self/fd/\(leases)", &buffer, buffer.count - 1)
        let target = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        guard target.hasPrefix("/memfd:secretsfs-leases") else { return nil }
        return SharedJournal(fd: leases, halfCapacity: Self.leaseJournalHalf).map(SharedLeaseJournal.init)
    }
}

/// One record per lease, all rewritten at each change: there are few, and a half-written set is never seen.
final class SharedLeaseJournal: LeaseJournal {
    private let journal: SharedJournal
    init(journal: SharedJournal) { self.journal = journal }

    func load() -> [LeaseRecord] {
        var records: [LeaseRecord] = []
        journal.forEachRecord { bytes in
            if let record = LeaseRecordCodec.decode(bytes) { records.append(record) }
        }
        return records
    }

    func save(_ records: [LeaseRecord]) {
        var encoded = records.map(LeaseRecordCodec.encode)
        defer { for index in encoded.indices { encoded[index].withUnsafeMutableBytes { SecretValue.zero($0) } } }
        var all: [UInt8] = []
        // Reserved at once: a buffer that grows leaves copies of what it held behind.
        all.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
        var ranges: [Range<Int>] = []
        for record in encoded {
            ranges.append(all.count..<(all.count + record.count))
            all.append(contentsOf: record)
        }
        defer { all.withUnsafeMutableBytes { SecretValue.zero($0) } }
        all.withUnsafeBytes { raw in
            _ = journal.replace(with: ranges.map { UnsafeRawBufferPointer(rebasing: raw[$0]) })
        }
    }

    func wipe() { journal.wipeAll() }
}

final class SharedInodeJournal: InodeJournal {
    private let journal: SharedJournal
    init(journal: SharedJournal) { self.journal = journal }

    func append(_ record: [UInt8]) {
        // Full after millions of nodes; the mount goes on, only a later worker would miss them.
        _ = record.withUnsafeBytes { journal.append($0) }
    }
}

public final class SharedCacheMirror: CacheMirror {
    private let journal: SharedJournal
    init(journal: SharedJournal) { self.journal = journal }

    /// Zeroes what the mirror holds: the mount is stopping.
    public func wipe() { journal.wipeAll() }

    public func record(_ key: CacheKey, _ entry: MirroredEntry?) -> Bool {
        MirrorCodec.withRecord(key, entry) { journal.append($0) }
    }

    public func replaceAll(_ entries: [(CacheKey, MirroredEntry)]) {
        var records = entries.map { MirrorCodec.encode($0.0, $0.1) }
        var all: [UInt8] = []
        // Reserved at once: a buffer that grows leaves copies of the values it held behind.
        all.reserveCapacity(records.reduce(0) { $0 + $1.count })
        var ranges: [Range<Int>] = []
        for index in records.indices {
            ranges.append(all.count..<(all.count + records[index].count))
            all.append(contentsOf: records[index])
            records[index].withUnsafeMutableBytes { SecretValue.zero($0) }
        }
        defer { all.withUnsafeMutableBytes { SecretValue.zero($0) } }
        all.withUnsafeBytes { raw in
            let pieces = ranges.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }
            // Too many to fit: the mirror is emptied rather than left with old answers.
            if !journal.replace(with: pieces) { _ = journal.replace(with: []) }
        }
    }
}
