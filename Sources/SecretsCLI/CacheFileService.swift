import Logging
import SecretsBackendLocal
import SecretsCore
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What `--cache-file` keeps: every answer the cache mirrors (the worker's shared mirror still gets
/// each record first), held here until the service writes them. Answers in `leaving` (the folders of
/// `leases:`: credentials revoked at unmount, SSH private keys) never reach the file.
final class CacheFileMirror: CacheMirror {
    private let inner: (any CacheMirror)?
    private let leaving: [SecretPath]
    private struct State {
        var latest: [CacheKey: MirroredEntry] = [:]
        var changed = false
    }
    private let state = Mutex(State())

    init(inner: (any CacheMirror)?, leaving: [SecretPath] = []) {
        self.inner = inner
        self.leaving = leaving
    }

    private func kept(_ key: CacheKey) -> Bool { !leaving.contains { key.path.hasPrefix($0) } }

    func record(_ key: CacheKey, _ entry: MirroredEntry?) -> Bool {
        if kept(key) {
            state.withLock {
                $0.latest[key] = entry
                $0.changed = true
            }
        }
        return inner?.record(key, entry) ?? true
    }

    func replaceAll(_ entries: [(CacheKey, MirroredEntry)]) {
        state.withLock {
            $0.latest = Dictionary(entries.filter { kept($0.0) }, uniquingKeysWith: { $1 })
            $0.changed = true
        }
        inner?.replaceAll(entries)
    }

    /// Everything held, if it changed since the last call.
    func takeIfChanged() -> [(CacheKey, MirroredEntry)]? {
        state.withLock {
            guard $0.changed else { return nil }
            $0.changed = false
            return $0.latest.map { ($0.key, $0.value) }
        }
    }

    func markChanged() { state.withLock { $0.changed = true } }
}

/// Writes the sealed cache file every `interval` when the cache changed, and once more when the
/// mount stops (it is the last service of the group to stop, after the mount has drained).
struct CacheFileService: Service {
    let file: SealedCacheFile
    let mirror: CacheFileMirror
    let cache: CachingSecretStore
    let clock: any TimeSource
    let logger: Logger
    static let interval: Duration = .seconds(10)

    func run() async throws {
        await clock.repeating(after: Self.interval) {
            await write()
            return Self.interval
        }
        await write()
    }

    func write() async {
        guard let entries = mirror.takeIfChanged() else { return }
        do throws(SecretError) {
            try file.write(entries)
            let now = clock.wallNow()
            await cache.recordCacheFile(
                {
                    $0.writes += 1
                    $0.lastWrite = now
                    $0.problem = nil
                }, path: file.path)
        } catch {
            mirror.markChanged()
            logger.warning("the cache file could not be written", metadata: ["error": "\(error.message)"])
            await cache.recordCacheFile({ $0.problem = error.message }, path: file.path)
        }
    }

    /// The file of `--cache-file` with the key of `--cache-key-file` or systemd's credential of that
    /// name; nil without `--cache-file`. A cache file without a key is refused: it is never written
    /// in plaintext.
    static func configured(
        file path: String?, keyFile: String?, environment: [String: String]
    ) throws(SecretError) -> SealedCacheFile? {
        guard let path, !path.isEmpty else { return nil }
        let credential = environment["CREDENTIALS_DIRECTORY"].map { "\($0)/\(OptionSpec.cacheKeyFile.name)" }
        guard let key = keyFile ?? credential.flatMap({ access($0, F_OK) == 0 ? $0 : nil }) else {
            throw SecretError(
                .configuration,
                "\(OptionSpec.cacheFile.flag) needs a key to seal it: \(OptionSpec.cacheKeyFile.flag) "
                    + "or the systemd credential \(OptionSpec.cacheKeyFile.name)")
        }
        return SealedCacheFile(path: path, key: try StoreKey.load(file: key))
    }
}
