import Foundation
import Logging
import SecretsCore
import Synchronization
import Testing

@testable import SecretsFileSystem

/// `.events` as the file system serves it (issue 14 §2); the same through a real mount, with
/// blocking and `select` readers, is in Tests/MountTests/test_events_stream.py.
@Suite struct EventStreamTests {
    func fixture() -> Fixture {
        var options = FileSystemOptions(uid: 7, gid: 8)
        options.events = true
        return Fixture(options: options)
    }

    func openEvents(_ f: Fixture) async throws -> (inode: UInt64, handle: UInt64) {
        let inode = try await f.lookup(".events").attributes.inode
        let open = try await f.fs.open(inode, writing: false, context: f.context).value
        #expect(open.directIO && open.nonSeekable && !open.keepCache)
        return (inode, open.handle)
    }

    func rotate(_ f: Fixture, _ folder: String, _ line: String) async throws {
        let control = try await f.lookup("\(folder)/.rotate").attributes.inode
        _ = try await f.fs.write(control, handle: 0, data: Array(line.utf8), context: f.context).value
    }

    func lines(_ bytes: [UInt8]) throws -> [[String: Any]] {
        try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func aRotationIsOneLineWithPathFieldVersionsAndCause() async throws {
        let f = fixture()
        await f.fs.attach(RecordingInvalidator())
        let (inode, handle) = try await openEvents(f)
        _ = try await f.readAll("db/password")
        try await rotate(f, "db", "password")
        let bytes = try await f.fs.read(inode, handle: handle, offset: 0, size: 4096, context: f.context).value
        let events = try lines(bytes)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event["path"] as? String == "db")
        #expect(event["field"] as? String == "password")
        #expect(event["cause"] as? String == "rotation")
        #expect(event["old_version"] as? String != nil && event["new_version"] as? String != nil)
        #expect(event["old_version"] as? String != event["new_version"] as? String)
        #expect(Set(event.keys) == ["time", "path", "field", "old_version", "new_version", "cause"])
        #expect(!String(decoding: bytes, as: UTF8.self).contains("pw-1"))
    }

    @Test func aNonBlockingReadWithNothingToReadIsEAGAINAndAWaitingReadEndsOnTheNextEvent() async throws {
        let f = fixture()
        await f.fs.attach(RecordingInvalidator())
        let (inode, handle) = try await openEvents(f)
        let now = f.fs.read(inode, handle: handle, offset: 0, size: 4096, nonBlocking: true, context: f.context)
        guard case .now(.failure(let error as SecretError))? = Optional(now) else {
            Issue.record("a non-blocking read with nothing to read answered something")
            return
        }
        #expect(ErrnoMapping.errno(for: error) == EAGAIN)
        #expect(f.fs.poll(inode, handle: handle, notify: nil) == .notYet)
        let notified = Mutex(0)
        #expect(f.fs.poll(inode, handle: handle) { notified.withLock { $0 += 1 } } == .notYet)
        // The answer says it may wait for ever, so the FUSE layer counts it in no drain.
        guard case .waiting = f.fs.read(inode, handle: handle, offset: 0, size: 4096, context: f.context) else {
            Issue.record("a blocking read of .events with nothing to read did not say it waits")
            return
        }
        let value = try await f.lookup("openai/api_key").attributes.inode
        #expect(f.fs.poll(value, handle: 0, notify: nil) == .always)
        let waiting = Task {
            try await f.fs.read(inode, handle: handle, offset: 0, size: 4096, context: f.context).value
        }
        try await rotate(f, "openai", "api_key")
        let bytes = try await waiting.value
        #expect(try lines(bytes).first?["path"] as? String == "openai/api_key")
        #expect(notified.withLock { $0 } == 1)
    }

    @Test func aReadSmallerThanTheLinesWaitingGetsWholeLinesAndTheRestStays() async throws {
        let f = fixture()
        await f.fs.attach(RecordingInvalidator())
        let (inode, handle) = try await openEvents(f)
        try await rotate(f, "openai", "api_key")
        try await rotate(f, "openai", "api_key")
        let first = try await f.fs.read(inode, handle: handle, offset: 0, size: 200, context: f.context).value
        #expect(first.last == UInt8(ascii: "\n") && first.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        let second = try await f.fs.read(inode, handle: handle, offset: 0, size: 4096, context: f.context).value
        #expect(try lines(second).count == 1)
    }

    @Test func eachOpenIsItsOwnStreamFromItsOpenOn() async throws {
        let f = fixture()
        await f.fs.attach(RecordingInvalidator())
        let early = try await openEvents(f)
        try await rotate(f, "openai", "api_key")
        let late = try await openEvents(f)
        try await rotate(f, "db", "password")
        let a = try await f.fs.read(early.inode, handle: early.handle, offset: 0, size: 4096, context: f.context).value
        let b = try await f.fs.read(late.inode, handle: late.handle, offset: 0, size: 4096, context: f.context).value
        #expect(try lines(a).map { $0["path"] as? String } == ["openai/api_key", "db"])
        #expect(try lines(b).map { $0["path"] as? String } == ["db"])
        f.fs.release(early.handle)
        f.fs.release(late.handle)
        #expect(f.fs.changes.subscriberCount == 0)
    }

    @Test func withoutTheFlagEventsIsRefusedAndNeverListed() async throws {
        let f = Fixture()
        let inode = try await f.lookup(".events").attributes.inode
        await #expect(throws: SecretError.eventsNeedOpens) {
            _ = try await f.fs.open(inode, writing: false, context: f.context).value
        }
        #expect(ErrnoMapping.errno(for: SecretError.eventsNeedOpens) == EOPNOTSUPP)
        // The kernel opening it without asking (the default mode) reads it without a handle.
        await #expect(throws: SecretError.eventsNeedOpens) {
            _ = try await f.fs.read(inode, handle: 0, offset: 0, size: 4096, context: f.context).value
        }
        #expect(try await !f.names("").contains(".events"))
        #expect(try await !fixture().names("").contains(".events"))
    }

    @Test func aWriteIsRefused() async throws {
        let f = fixture()
        let inode = try await f.lookup(".events").attributes.inode
        await #expect(throws: SecretError.self) {
            _ = try await f.fs.open(inode, writing: true, context: f.context).value
        }
    }
}
