/// The answer of `SecretStore.readMany`: one result per path asked for, and how many requests the
/// store made for them (what `.status` counts as backend calls).
public struct BulkRead: Sendable {
    public var results: [SecretPath: Result<Secret, SecretError>]
    public var requests: Int

    public init(results: [SecretPath: Result<Secret, SecretError>] = [:], requests: Int = 0) {
        self.results = results
        self.requests = requests
    }

    /// How many reads a store without a bulk request runs at once.
    public static let concurrency = 8

    /// `paths` read one by one through `read`, at most `concurrency` at a time: the default of every
    /// store that has no request for many secrets.
    public static func oneByOne(
        _ store: any SecretStore, _ paths: [SecretPath], concurrency: Int = BulkRead.concurrency
    ) async -> BulkRead {
        var answer = BulkRead()
        await withTaskGroup(of: PathAnswer<Secret>.self) { group in
            var waiting = paths[...]
            var running = 0
            while true {
                while running < max(1, concurrency), let path = waiting.popFirst() {
                    running += 1
                    group.addTask { await PathAnswer.of(path) { try await store.read(path, version: nil) } }
                }
                guard let read = await group.next() else { break }
                running -= 1
                answer.results[read.path] = read.result.mapError { $0.at(read.path) }
                answer.requests += 1
            }
        }
        return answer
    }
}

/// The answer of `SecretStore.currentVersions`: the current version id of every secret a listing
/// showed (full paths), and how many requests the listing took.
public struct VersionListing: Sendable, Equatable {
    public var versions: [SecretPath: String]
    public var requests: Int

    public init(versions: [SecretPath: String], requests: Int) {
        self.versions = versions
        self.requests = requests
    }
}
