import Foundation
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

/// What a changed value announces to inotify watchers (issue 14 §1), and who may make the operations
/// that raise the events. The events themselves are checked through a real mount in
/// Tests/MountTests/test_events.py.
@Suite struct ChangeEventTests {
    final class RecordingAnnouncer: ChangeAnnouncer {
        let announced = Mutex<[(paths: [String], inodes: [UInt64])]>([])
        func announce(paths: [String], inodes: [UInt64]) {
            announced.withLock { $0.append((paths, inodes)) }
        }
    }

    func attached(_ f: Fixture) async -> RecordingAnnouncer {
        await f.fs.attach(RecordingInvalidator())
        let announcer = RecordingAnnouncer()
        f.fs.attach(announcer: announcer)
        return announcer
    }

    func rotate(_ f: Fixture, _ folder: String, _ line: String) async throws {
        let control = try await f.lookup("\(folder)/.rotate").attributes.inode
        _ = try await f.fs.write(control, handle: 0, data: Array(line.utf8), context: f.context).value
    }

    @Test func aRotationAnnouncesThePathOnceWithTheVersionTheKernelHolds() async throws {
        let f = Fixture()
        let announcer = await attached(f)
        let old = try await f.lookup("openai/api_key").attributes.inode
        try await rotate(f, "openai", "api_key")
        let announced = announcer.announced.withLock { $0 }
        // A rotation also changes the versions and the listing; the value is announced once.
        #expect(announced.count == 1)
        #expect(announced.first?.paths == ["openai/api_key"])
        #expect(announced.first?.inodes == [old])
    }

    @Test func aForgottenInodeIsNotAnnouncedAndAHeldOneIsEveryTime() async throws {
        let f = Fixture()
        let announcer = await attached(f)
        let first = try await f.lookup("openai/api_key").attributes.inode
        try await rotate(f, "openai", "api_key")
        let second = try await f.lookup("openai/api_key").attributes.inode
        _ = try await f.lookup("openai/api_key")
        // The kernel drops the first version (nothing watches it) and one of two lookups of the second.
        f.fs.forget(first, lookups: 1)
        f.fs.forget(second, lookups: 1)
        try await rotate(f, "openai", "api_key")
        #expect(announcer.announced.withLock { $0 }.last?.inodes == [second])
        // Still held after that change: a watch set on it hears the next one too.
        try await rotate(f, "openai", "api_key")
        #expect(announcer.announced.withLock { $0 }.last?.inodes == [second])
        f.fs.forget(second, lookups: 1)
        try await rotate(f, "openai", "api_key")
        #expect(announcer.announced.withLock { $0 }.last?.inodes.contains(second) == false)
    }

    @Test func aRotationAnnouncesTheLabelsTheKernelKnows() async throws {
        let f = Fixture()
        let announcer = await attached(f)
        _ = try await f.lookup("openai/api_key")
        let current = try await f.lookup("openai/.versions/api_key/current").attributes.inode
        try await rotate(f, "openai", "api_key")
        let paths = announcer.announced.withLock { $0 }.last?.paths
        #expect(paths == ["openai/api_key", "openai/.versions/api_key/current"])
        // A label is touched by its times only: a symlink is never opened.
        let (setattr, open) = f.fs.announcing(fromThread: 99) {
            let daemon = RequestContext(uid: 0, gid: 0, pid: 99)
            return (touch(f, current, context: daemon), f.fs.open(current, writing: true, context: daemon))
        }
        #expect(await succeeds(setattr))
        #expect(!(await succeeds(open)))
    }

    @Test func aChangedMultiFieldSecretAnnouncesItsFields() async throws {
        let f = Fixture()
        let announcer = await attached(f)
        let password = try await f.lookup("db/password").attributes.inode
        let username = try await f.lookup("db/username").attributes.inode
        try await rotate(f, "db", "password")
        let last = try #require(announcer.announced.withLock { $0 }.last)
        #expect(last.paths == ["db/password", "db/username"])
        #expect(Set(last.inodes) == [password, username])
    }

    @Test func anUnchangedRefreshAnnouncesNothing() async throws {
        let f = Fixture(ttl: .seconds(1))
        let announcer = await attached(f)
        _ = try await f.readAll("openai/api_key")
        f.clock.advance(by: .seconds(2))
        _ = try await f.readAll("openai/api_key")
        #expect(announcer.announced.withLock { $0 }.isEmpty)
        f.store.seed("openai/api_key", .value(SecretValue(string: "outside-value")))
        f.clock.advance(by: .seconds(2))
        #expect(try await f.readAll("openai/api_key") == Array("outside-value".utf8))
        #expect(announcer.announced.withLock { $0 }.map(\.paths) == [["openai/api_key"]])
    }

    @Test func onlyAnAnnouncingThreadMayTouchAValueFile() async throws {
        let f = Fixture()
        let inode = try await f.lookup("openai/api_key").attributes.inode
        let rotate = try await f.lookup("openai/.rotate").attributes.inode
        let daemon = RequestContext(uid: 0, gid: 0, pid: 4242)
        #expect(!(await succeeds(touch(f, inode, context: daemon))))
        #expect(!(await succeeds(f.fs.open(inode, writing: true, context: daemon))))
        let (setattr, open, refused) = f.fs.announcing(fromThread: 4242) {
            (
                touch(f, inode, context: daemon),
                f.fs.open(inode, writing: true, context: daemon),
                // Nothing but times, nothing but value files, and no other thread, even now.
                [
                    touch(f, inode, timesOnly: false, context: daemon),
                    touch(f, rotate, context: daemon),
                    touch(f, inode, context: f.context),
                ]
            )
        }
        for answer in refused { #expect(!(await succeeds(answer))) }
        // A read-only open from the announcing thread is an ordinary open, not a touch.
        let reading = try await f.fs.open(inode, writing: false, context: daemon).value
        #expect(reading.handle != 0)
        // The version's own attributes: `stat` shows no trace of the touch.
        let attributes = try await setattr.value.attributes
        #expect(attributes == (try await f.fs.getattr(inode, context: f.context).value.attributes))
        let touched = try await open.value
        #expect(touched.keepCache && touched.handle == 0)
        #expect(!(await succeeds(touch(f, inode, context: daemon))))
    }

    /// A SETATTR of times (or, with `timesOnly` false, of a mode), as an announcement makes one.
    private func touch(
        _ f: Fixture, _ inode: UInt64, timesOnly: Bool = true, context: RequestContext
    ) -> Answer<AttributeReply> {
        f.fs.setattr(inode, truncatingTo: nil, otherChanges: !timesOnly, timesOnly: timesOnly, context: context)
    }

    private func succeeds<Value>(_ answer: Answer<Value>) async -> Bool {
        (try? await answer.value) != nil
    }

    @Test func aWorkerTakingOverCountsTheValueInodesItRestoredAsHeldUntilForgotten() throws {
        let inodes = InodeTable()
        let path = try SecretPath("openai/api_key")
        _ = inodes.inode(for: .path(try SecretPath("openai")))
        let earlier = inodes.inode(for: .value(path, version: "1", isField: false))
        let later = inodes.inode(for: .value(path, version: "2", isField: false))
        let kernel = KernelCaches(inodes: inodes, nodes: NodeCache())
        let announcer = RecordingAnnouncer()
        kernel.attach(announcer: announcer)
        kernel.changed(.secret(path, version: nil))
        #expect(announcer.announced.withLock { $0 }.last?.inodes == [earlier, later])
        kernel.forgotten(earlier, lookups: .max)
        kernel.changed(.secret(path, version: nil))
        #expect(announcer.announced.withLock { $0 }.last?.inodes == [later])
    }
}
