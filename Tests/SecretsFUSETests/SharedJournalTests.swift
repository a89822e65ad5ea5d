import CFUSE
import CProcessGuard
import Foundation
import SecretsCore
import SecretsSupervision
import Testing

@testable import SecretsFUSE

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh memfd, as the supervisor makes one; closed when the test is done with it.
final class MemoryFile {
    let fd: Int32

    init() throws {
        fd = secretsfs_memfd("secretsfs-tests")
        try #require(fd >= 0, "memfd_create: errno \(errno)")
    }

    deinit { close(fd) }

    var size: Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : -1
    }

    /// Everything in the file, as another process mapping it would see it.
    var contents: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        return count == bytes.count ? bytes : []
    }

    /// `count` bytes from `offset`, for a file too large to read whole.
    func bytes(at offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
        return read == count ? bytes : []
    }

    func writeWord(_ value: UInt64, at index: Int) {
        var little = value.littleEndian
        _ = pwrite(fd, &little, 8, off_t(index * 8))
    }
}

extension SharedJournal {
    var records: [[UInt8]] {
        var all: [[UInt8]] = []
        forEachRecord { all.append(Array($0)) }
        return all
    }

    func append(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { append($0) } }

    func replace(with records: [[UInt8]]) -> Bool {
        // One buffer, so every piece stays valid for the whole call.
        let all = records.flatMap { $0 }
        var ranges: [Range<Int>] = []
        var start = 0
        for record in records {
            ranges.append(start..<(start + record.count))
            start += record.count
        }
        return all.withUnsafeBytes { raw in replace(with: ranges.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }) }
    }
}

extension [UInt8] {
    /// Whether `needle` occurs anywhere in these bytes: a secret must not linger in the memfd.
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// The records a worker leaves in shared memory for the one after it: what is committed is seen by
/// the next mapping, what is not is never misread, and nothing lingers once it is replaced or wiped.
@Suite struct SharedJournalTests {
    static let header = 64
    static let half = 4096

    @Test func aNewJournalIsLaidOutOnAnEmptyMemfdAndHoldsNoRecords() throws {
        let file = try MemoryFile()
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(file.size == Self.header + 2 * Self.half)
        #expect(journal.records.isEmpty)
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records.isEmpty)
    }

    @Test func recordsAppendedAreReadBackInOrderByTheNextWorker() throws {
        let file = try MemoryFile()
        let records: [[UInt8]] = [Array("first".utf8), [], [0, 1, 2, 0xff], Array("fourth record".utf8)]
        do {
            let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
            for record in records { #expect(journal.append(record)) }
            #expect(journal.records == records)
        }
        // The first worker's mapping is gone; the descriptor, kept by the supervisor, holds the records.
        let next = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(next.records == records)
        #expect(next.append(Array("fifth".utf8)))
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records.last == Array("fifth".utf8))
    }

    @Test func twoMappingsOfOneMemfdSeeEachOthersRecords() throws {
        let file = try MemoryFile()
        let one = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        let two = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(one.append([1]))
        #expect(two.records == [[1]])
        #expect(two.append([2]))
        #expect(one.records == [[1], [2]])
    }

    @Test func replaceSwitchesHalvesKeepsOnlyTheNewRecordsAndZeroesTheOld() throws {
        let file = try MemoryFile()
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        let old = Array("old-secret-value".utf8)
        #expect(journal.append(old))
        #expect(journal.append(Array("old-two".utf8)))

        let new: [[UInt8]] = [Array("new-one".utf8), [], Array("new-three".utf8)]
        #expect(journal.replace(with: new))
        #expect(journal.records == new)
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records == new)
        #expect(file.contents.contains(bytes: old) == false, "the replaced records are zeroed")

        // Appends go to the half now in use; a second replace switches back to the first half.
        #expect(journal.append(Array("appended".utf8)))
        #expect(journal.records == new + [Array("appended".utf8)])
        #expect(journal.replace(with: [Array("again".utf8)]))
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records == [Array("again".utf8)])
        #expect(file.contents.contains(bytes: Array("new-three".utf8)) == false)

        #expect(journal.replace(with: [[UInt8]]()))
        #expect(journal.records.isEmpty)
    }

    @Test func anAppendThatDoesNotFitIsRefusedAndLeavesTheRecordsAsTheyWere() throws {
        let file = try MemoryFile()
        let capacity = 64
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: capacity))
        // Each record takes 4 bytes of length before it.
        let exact = [UInt8](repeating: 7, count: capacity - 4 - 4 - 10)
        #expect(journal.append([UInt8](repeating: 1, count: 10)))
        #expect(journal.append(exact))
        #expect(journal.append([9]) == false, "the half is full")
        #expect(journal.append([]) == false, "even an empty record needs its length")
        #expect(journal.records == [[UInt8](repeating: 1, count: 10), exact])

        // A replacement is written to the other half, with the same room.
        #expect(journal.replace(with: [[UInt8](repeating: 2, count: capacity - 4)]))
        #expect(journal.append([]) == false)
        #expect(journal.replace(with: [[UInt8](repeating: 3, count: capacity - 3)]) == false)
        #expect(journal.records == [[UInt8](repeating: 2, count: capacity - 4)], "a refused replace keeps the old")
        #expect(file.contents.contains(bytes: [UInt8](repeating: 3, count: 16)) == false)
    }

    @Test func wipeAllLeavesNoRecordsAndNoBytesOfThem() throws {
        let file = try MemoryFile()
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(journal.append(Array("in-first-half".utf8)))
        #expect(journal.replace(with: [Array("in-second-half".utf8)]))
        #expect(journal.append(Array("appended-second".utf8)))
        journal.wipeAll()
        #expect(journal.records.isEmpty)
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records.isEmpty)
        let contents = file.contents
        #expect(contents.count == Self.header + 2 * Self.half)
        #expect(contents[Self.header...].allSatisfy { $0 == 0 })
        // The journal is still usable after a wipe.
        #expect(journal.append([5]))
        #expect(journal.records == [[5]])
    }

    @Test func aMemfdOfAnotherSizeIsRefused() throws {
        let file = try MemoryFile()
        #expect(ftruncate(file.fd, 100) == 0)
        #expect(SharedJournal(fd: file.fd, halfCapacity: Self.half) == nil)

        let laidOut = try MemoryFile()
        _ = try #require(SharedJournal(fd: laidOut.fd, halfCapacity: Self.half))
        #expect(SharedJournal(fd: laidOut.fd, halfCapacity: Self.half / 2) == nil)
        #expect(SharedJournal(fd: laidOut.fd, halfCapacity: Self.half * 2) == nil)
        #expect(laidOut.size == Self.header + 2 * Self.half, "a refused mapping does not resize the file")
        #expect(SharedJournal(fd: -1, halfCapacity: Self.half) == nil)
    }

    @Test func aRecordPastTheCommittedLengthIsNotSeen() throws {
        // A worker killed mid-append: the header's length (word 2, half 0) covers only part of the
        // last record, whose own length says more bytes follow.
        let file = try MemoryFile()
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(journal.append(Array("whole".utf8)))
        #expect(journal.append(Array("cut-short".utf8)))
        file.writeWord(UInt64(4 + 5 + 4 + 3), at: 2)
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records == [Array("whole".utf8)])
        file.writeWord(UInt64(4 + 5 + 2), at: 2)
        #expect(try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half)).records == [Array("whole".utf8)])
    }

    @Test func aMemfdWithoutTheMagicIsLaidOutAgain() throws {
        // The right size but not a journal: its lengths are not trusted.
        let file = try MemoryFile()
        #expect(ftruncate(file.fd, off_t(Self.header + 2 * Self.half)) == 0)
        file.writeWord(0, at: 1)
        file.writeWord(1000, at: 2)
        let journal = try #require(SharedJournal(fd: file.fd, halfCapacity: Self.half))
        #expect(journal.records.isEmpty)
    }
}

/// The shared journals through the worker's own entry points, on memfds in place of fds 4 and 5.
@Suite struct WorkerChannelJournalTests {
    func channel(inodes: MemoryFile, cache: MemoryFile) -> WorkerChannel {
        var channel = WorkerChannel()
        channel.inodes = inodes.fd
        channel.cache = cache.fd
        channel.generation = 3
        return channel
    }

    @Test func inodeRecordsOfOneWorkerAreRestoredByTheNext() throws {
        let inodes = try MemoryFile()
        let cache = try MemoryFile()
        let channel = channel(inodes: inodes, cache: cache)
        let first = channel.inodeContinuity(pid: 10, startedAt: Date(timeIntervalSince1970: 0))
        #expect(first.restoredInodes.isEmpty)
        #expect(first.generation == 3)
        #expect(first.worker?.pid == 10)
        let journal = try #require(first.journal)
        journal.append([1, 2, 3])
        journal.append([4])

        let second = channel.inodeContinuity(pid: 11, startedAt: Date(timeIntervalSince1970: 1))
        #expect(second.restoredInodes == [[1, 2, 3], [4]])
    }

    @Test func theCacheMirrorRestoresTheLastRecordOfEachKeyAndDropsTombstones() throws {
        let inodes = try MemoryFile()
        let cache = try MemoryFile()
        let channel = channel(inodes: inodes, cache: cache)
        let fetchedAt = Date(timeIntervalSince1970: 1_800_000_000)
        func entry(_ value: String) -> MirroredEntry {
            let secret = Secret(content: .value(SecretValue(string: value)), version: "1", createdAt: nil)
            return MirroredEntry(payload: .secret(secret), fetchedAt: fetchedAt)
        }
        let a = CacheKey.secret(try SecretPath("a"), version: nil)
        let b = CacheKey.secret(try SecretPath("b"), version: nil)
        let listing = CacheKey.listing(.root)
        do {
            let (mirror, restored) = try #require(channel.cacheMirror())
            #expect(restored.isEmpty)
            #expect(mirror.record(a, entry("one")))
            #expect(mirror.record(b, entry("bee")))
            #expect(mirror.record(a, entry("two")))
            #expect(mirror.record(b, nil))
            let listed = MirroredEntry(payload: .listing(Listing(secrets: ["a"])), fetchedAt: fetchedAt)
            #expect(mirror.record(listing, listed))
        }
        let (mirror, restored) = try #require(channel.cacheMirror())
        let byKey = Dictionary(restored, uniquingKeysWith: { _, last in last })
        #expect(byKey.count == 2)
        #expect(byKey[a] == entry("two"))
        #expect(byKey[b] == nil)
        #expect(byKey[listing]?.payload == .listing(Listing(secrets: ["a"])))

        mirror.replaceAll([(b, entry("only"))])
        let replaced = try #require(channel.cacheMirror()).restored
        #expect(replaced.map(\.0) == [b])
        #expect(replaced.first?.1 == entry("only"))
        // Both halves' first page: where every record above was written.
        func written() -> [UInt8] {
            cache.bytes(at: 64, count: 4096) + cache.bytes(at: 64 + WorkerChannel.cacheJournalHalf, count: 4096)
        }
        #expect(written().count == 8192)
        #expect(written().contains(bytes: Array("two".utf8)) == false, "replaced values are zeroed")

        mirror.wipe()
        #expect(try #require(channel.cacheMirror()).restored.isEmpty)
        #expect(written().contains(bytes: Array("only".utf8)) == false)
    }
}

/// The one environment variable a supervisor names the worker's channel in.
@Suite struct WorkerChannelEnvironmentTests {
    @Test func aProcessWithoutTheVariableIsNotAWorker() {
        #expect(WorkerChannel.from([:]) == nil)
        #expect(WorkerChannel.from(["PATH": "/usr/bin", "SECRETSFS_WORKERS": "generation=1"]) == nil)
    }

    @Test func theEncodedChannelComesBack() throws {
        var channel = WorkerChannel()
        channel.generation = 7
        channel.restarts = 2
        channel.reloads = 5
        channel.supervisor = 4242
        let parsed = try #require(WorkerChannel.from([WorkerChannel.environmentKey: channel.encoded]))
        #expect(parsed == channel)
        #expect(parsed.generation == 7)
        #expect(parsed.restarts == 2)
        #expect(parsed.reloads == 5)
        #expect(parsed.supervisor == 4242)
    }

    @Test func theDescriptorsAreAtTheirFixedNumbers() throws {
        let parsed = try #require(WorkerChannel.from([WorkerChannel.environmentKey: "generation=1"]))
        #expect(parsed.fuse == 3)
        #expect(parsed.inodes == 4)
        #expect(parsed.cache == 5)
        #expect(parsed.control == 6)
        #expect(parsed.credentials == 7)
    }

    @Test func anEmptyValueIsAWorkerOfGenerationZero() throws {
        let parsed = try #require(WorkerChannel.from([WorkerChannel.environmentKey: ""]))
        #expect(parsed == WorkerChannel())
    }

    @Test func unknownNamesAndMalformedPairsAreSkipped() throws {
        let text = "bogus=1,generation=9,,restarts,=4,reloads=x,supervisor=12,fuse=99"
        let parsed = try #require(WorkerChannel.from([WorkerChannel.environmentKey: text]))
        #expect(parsed.generation == 9)
        #expect(parsed.restarts == 0)
        #expect(parsed.reloads == 0, "a figure that is not a number counts as zero")
        #expect(parsed.supervisor == 12)
        #expect(parsed.fuse == 3, "descriptor numbers are not taken from the environment")
    }

    @Test func figuresOutOfTheirRangeCountAsZero() throws {
        let text = "generation=4294967296,supervisor=99999999999"
        let parsed = try #require(WorkerChannel.from([WorkerChannel.environmentKey: text]))
        #expect(parsed.generation == 0)
        #expect(parsed.supervisor == 0)
        let largest = try #require(WorkerChannel.from([WorkerChannel.environmentKey: "generation=4294967295"]))
        #expect(largest.generation == UInt32.max)
    }
}
