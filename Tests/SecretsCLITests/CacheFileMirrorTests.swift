import Foundation
import SecretsCore
import Testing

@testable import SecretsCLI

@Suite struct CacheFileMirrorTests {
    final class Recorder: CacheMirror, @unchecked Sendable {
        var keys: [CacheKey] = []
        func record(_ key: CacheKey, _ entry: MirroredEntry?) -> Bool {
            keys.append(key)
            return true
        }
        func replaceAll(_ entries: [(CacheKey, MirroredEntry)]) { keys = entries.map(\.0) }
    }

    /// A lease's folder (a credential revoked at unmount, an SSH private key) reaches the workers' shared
    /// memory but never the file.
    @Test func leaseFoldersReachTheSharedMirrorButNotTheFile() throws {
        let inner = Recorder()
        let mirror = CacheFileMirror(inner: inner, leaving: [try SecretPath("ssh/deploy")])
        let entry = MirroredEntry(
            payload: .secret(Secret(content: .fields(["id": SecretValue(string: "k")]), version: "1", createdAt: nil)),
            fetchedAt: Date())
        let key = CacheKey.secret(try SecretPath("ssh/deploy"), version: nil)
        let other = CacheKey.secret(try SecretPath("ssh/other"), version: nil)
        #expect(mirror.record(key, entry) && mirror.record(other, entry))
        #expect(inner.keys == [key, other])
        #expect(mirror.takeIfChanged()?.map(\.0) == [other])
        mirror.replaceAll([(key, entry), (other, entry)])
        #expect(inner.keys == [key, other])
        #expect(mirror.takeIfChanged()?.map(\.0) == [other])
    }
}
