import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

/// An `InodeJournal` in memory, standing in for the shared memory a supervisor keeps.
final class MemoryInodeJournal: InodeJournal {
    private let stored = Mutex<[[UInt8]]>([])
    var records: [[UInt8]] { stored.withLock { $0 } }
    func append(_ record: [UInt8]) { stored.withLock { $0.append(record) } }
}

/// The inode numbers the kernel holds must mean the same nodes in the worker that takes over.
@Suite struct WorkerContinuityTests {
    static func p(_ string: String) -> SecretPath {
        // Test paths are literals known to be valid.
        try! SecretPath(string)
    }

    static let keys: [NodeKey] = [
        .path(.root),
        .path(p("app")),
        .path(p("app/db/password")),
        .value(p("app/db/password"), version: "3", isField: false),
        .value(p("app/db/password"), version: "3", isField: true),
        .value(p("app/db/password"), version: "4", isField: false),
        .value(p("top"), version: "", isField: false),
        .value(.root, version: "1", isField: true),
        .versionsRoot(folder: .root),
        .versionsRoot(folder: p("app/db")),
        .versions(of: p("app/db/password")),
        .version(of: p("app/db/password"), id: "3"),
        .version(of: p("aws/key"), id: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"),
        .versionField(of: p("app/db"), id: "2", field: "username"),
        .versionField(of: p("app/db"), id: "2", field: "with space and ünïcode"),
        .label(of: p("app/db/password"), label: "current"),
        .label(of: p("aws/key"), label: "AWSPENDING"),
        .named(".rotate"),
        .named(".rotate", in: p("app")),
        .named(".status"),
        .named(".metrics"),
        .named(".events"),
        .rendered(p("app/db.json")),
    ]

    // MARK: NodeKeyCodec

    /// The bytes of each kind as workers before the control-file registry wrote them: a worker
    /// built from another commit must read them the same.
    @Test func theRecordsOfEveryKindKeepTheirBytes() {
        let expected: [(NodeKey, String)] = [
            (.path(.root), "p\0"),
            (.path(Self.p("app/db")), "p\0app/db"),
            (.value(Self.p("app/db"), version: "3", isField: true), "x\0app/db\03\01"),
            (.versionsRoot(folder: Self.p("app")), "r\0app"),
            (.versions(of: Self.p("app/db")), "v\0app/db"),
            (.version(of: Self.p("app/db"), id: "2"), "i\0app/db\02"),
            (.versionField(of: Self.p("app/db"), id: "2", field: "user"), "f\0app/db\02\0user"),
            (.label(of: Self.p("app/db"), label: "current"), "l\0app/db\0current"),
            (.named(".rotate"), "o\0"),
            (.named(".rotate", in: Self.p("app")), "o\0app"),
            (.named(".status"), "s"),
            (.named(".metrics"), "m"),
            (.named(".events"), "e"),
            (.rendered(Self.p("app/db.json")), "t\0app/db.json"),
        ]
        for (key, bytes) in expected {
            #expect(NodeKeyCodec.encode(key) == Array(bytes.utf8), "\(key)")
        }
    }

    @Test func theControlFilesAreOneListWithNamesAndTagsOfTheirOwn() {
        let files = ControlFiles.all
        #expect(files.map(\.name) == [".rotate", ".status", ".metrics", ".events"])
        #expect(files.allSatisfy { $0.name.hasPrefix(".") && !SecretPath.isValidSegment($0.name) })
        #expect(Set(files.map(\.name)).count == files.count)
        // A tag is a kind of record: it may not be another control file's or another node kind's.
        let tags = files.map(\.recordTag)
        #expect(Set(tags).count == files.count)
        #expect(Set(tags).isDisjoint(with: ["p", "x", "r", "v", "i", "f", "l", "t"]))
        #expect(ControlFiles.named(".status", in: Self.p("app")) == nil)
        #expect(ControlFiles.named(".rotate", in: Self.p("app")) != nil)
        #expect(ControlFiles.named("status", in: .root) == nil)
    }

    @Test(arguments: keys) func everyNodeKeyComesBack(_ key: NodeKey) {
        #expect(NodeKeyCodec.decode(NodeKeyCodec.encode(key)) == key)
    }

    @Test func differentKeysHaveDifferentBytes() {
        // Two keys with the same bytes would share an inode in the next worker.
        let encoded = Self.keys.map(NodeKeyCodec.encode)
        #expect(Set(encoded).count == Self.keys.count)
    }

    @Test func garbageIsRefused() {
        let garbage: [[UInt8]] = [
            [],
            Array("q\0app".utf8),  // an unknown kind
            Array("p".utf8),  // a path without its path
            Array("p\0a\0b".utf8),  // one part too many
            Array("x\0a\03".utf8),  // a value without its field flag
            Array("s\0".utf8),
            Array("m\0x".utf8),
            Array("o".utf8),  // a `.rotate` without its folder
            Array("o\0a\0b".utf8),
            Array("p\0.hidden".utf8),  // a name the mount refuses
            Array("i\0a/../b\01".utf8),
            Array("p\0a//b".utf8),
            [0xff, 0xfe, 0],
        ]
        for bytes in garbage {
            #expect(NodeKeyCodec.decode(bytes) == nil, "\(bytes)")
        }
    }

    // MARK: InodeTable

    @Test func aRestoredTableGivesEveryKeyItsInodeAndNumbersNewOnesAfter() throws {
        let journal = MemoryInodeJournal()
        let first = InodeTable(journal: journal)
        var inodes: [NodeKey: UInt64] = [:]
        for key in Self.keys { inodes[key] = first.inode(for: key) }
        // Asked again, nothing new is numbered or recorded.
        for key in Self.keys { #expect(first.inode(for: key) == inodes[key]) }
        // The root is never journalled: every table starts with it.
        #expect(journal.records.count == Self.keys.count - 1)
        #expect(inodes[.path(.root)] == InodeTable.rootInode)

        let nextJournal = MemoryInodeJournal()
        let second = InodeTable(restoring: journal.records, journal: nextJournal)
        #expect(second.count == first.count)
        for key in Self.keys {
            #expect(second.existingInode(for: key) == inodes[key], "\(key)")
            #expect(second.key(for: try #require(inodes[key])) == key)
        }
        #expect(nextJournal.records.isEmpty, "restored nodes are not recorded again")

        let fresh = NodeKey.path(Self.p("created/after/restart"))
        let next = second.inode(for: fresh)
        #expect(next == UInt64(first.count + 1))
        #expect(Set(inodes.values).contains(next) == false)
        #expect(nextJournal.records.count == 1)

        // The new worker's records continue the earlier ones: a third worker restores from both.
        let third = InodeTable(restoring: journal.records + nextJournal.records)
        #expect(third.existingInode(for: fresh) == next)
        #expect(third.existingInode(for: .named(".status")) == inodes[.named(".status")])
    }

    @Test func restoringStopsAtARecordThatIsNotTheNextNumber() throws {
        let journal = MemoryInodeJournal()
        let first = InodeTable(journal: journal)
        let keys = [NodeKey.path(Self.p("a")), .path(Self.p("b")), .path(Self.p("c")), .named(".status")]
        for key in keys { _ = first.inode(for: key) }
        var records = journal.records
        #expect(records.count == 4)

        // Drop the record of "b" (inode 3): "c" and .status cannot have reached the kernel.
        records.remove(at: 1)
        let second = InodeTable(restoring: records)
        #expect(second.count == 2)
        #expect(second.existingInode(for: .path(Self.p("a"))) == 2)
        #expect(second.existingInode(for: .path(Self.p("c"))) == nil)
        #expect(second.existingInode(for: .named(".status")) == nil)
        #expect(second.inode(for: .path(Self.p("b"))) == 3)
    }

    @Test func restoringStopsAtAnUnreadableOrShortRecord() {
        let journal = MemoryInodeJournal()
        let first = InodeTable(journal: journal)
        for name in ["a", "b", "c"] { _ = first.inode(for: .path(Self.p(name))) }
        let records = journal.records

        var garbled = records
        garbled[1] = Array(garbled[1].prefix(8)) + Array("?\0nonsense".utf8)
        #expect(InodeTable(restoring: garbled).count == 2)

        var short = records
        short[1] = Array(short[1].prefix(8))
        #expect(InodeTable(restoring: short).count == 2)

        // A record numbering the root again, or starting from 1 as a journal of another mount would.
        var renumbered = records
        renumbered[0] = [1, 0, 0, 0, 0, 0, 0, 0] + renumbered[0].dropFirst(8)
        #expect(InodeTable(restoring: renumbered).count == 1)
    }

    @Test func recordsAreTheInodeLittleEndianThenTheKey() {
        // The supervisor keeps these bytes across workers, which may be built from another commit.
        let journal = MemoryInodeJournal()
        let table = InodeTable(journal: journal)
        _ = table.inode(for: .named(".status"))
        #expect(journal.records == [[2, 0, 0, 0, 0, 0, 0, 0, UInt8(ascii: "s")]])
    }
}

extension NodeKey {
    /// The control file `name` in `folder`.
    static func named(_ name: String, in folder: SecretPath = .root) -> NodeKey {
        // Test names are names of the registry.
        .control(ControlFiles.named(name, in: folder)!, in: folder)
    }
}
