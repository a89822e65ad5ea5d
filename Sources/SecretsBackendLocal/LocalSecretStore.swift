import Logging
import SQLiteNIO
import SecretsCore
import Synchronization

import struct Foundation.Date

/// The default backend: secrets in a SQLite file, every write a new numbered version.
///
/// One connection per store. Statements of one store never interleave (an `AsyncLock` guards
/// every query and every transaction), and several processes on one file (the daemon reading,
/// the CLI writing) are kept apart by SQLite's own locking, WAL and `busy_timeout`.
public final class LocalSecretStore: SecretStore {
    public let descriptor: StoreDescriptor
    /// The database file.
    public let path: String

    let connection: SQLiteConnection
    /// Seals every value when the store is encrypted; nil for a plain store.
    private let key: StoreKey?
    private let lock = AsyncLock()
    private let logger: Logger
    private let clock: any TimeSource
    /// Stored paths already reported as unshowable.
    private let reportedNames = LogOnce()
    /// sqlite-nio crashes when a connection is closed twice (its hooks are cleared on a null
    /// handle), so shutdown and deinit close it once between them.
    private let closed = Mutex(false)

    private init(
        path: String, connection: SQLiteConnection, key: StoreKey?, logger: Logger, clock: any TimeSource
    ) {
        self.path = path
        self.connection = connection
        self.key = key
        self.logger = logger
        self.clock = clock
        self.descriptor = StoreDescriptor(backend: "local", address: path, capabilities: [.versions, .write, .rotate])
    }

    deinit {
        // sqlite-nio asserts that a connection is closed before it goes.
        if !closed.withLock({ $0 }) { _ = connection.close() }
    }

    /// Opens (creating if needed) the SQLite file at `path`: parent folders 0700, the file 0600
    /// created before SQLite opens it; WAL; a busy timeout so the CLI can write while a daemon reads.
    /// With a `key`, the store must be encrypted with it (a new, empty store is encrypted at once);
    /// without one, it must be plain.
    public static func open(
        path: String,
        logger: Logger,
        clock: any TimeSource = SystemTimeSource(),
        key: StoreKey? = nil
    ) async throws -> LocalSecretStore {
        try await open(path: path, logger: logger, clock: clock, key: key, checkingKey: true)
    }

    private static func open(
        path: String, logger: Logger, clock: any TimeSource, key: StoreKey?, checkingKey: Bool
    ) async throws -> LocalSecretStore {
        try StoreFile.prepare(path, logger: logger)
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw SecretError.fromSQLite(error, doing: "opening the store", file: path)
        }
        // Two processes creating the same new file can meet in SQLite's lock upgrade, where it
        // answers "busy" at once instead of waiting; the loser tries again after a moment.
        var attempt = 0
        while true {
            do {
                try await LocalSchema.prepare(connection, file: path)
                break
            } catch {
                let failure = SecretError.fromSQLite(error, doing: "opening the store", file: path)
                attempt += 1
                if failure.code == .unavailable, attempt < 8 {
                    try? await clock.sleep(for: .milliseconds(25 * attempt))
                    continue
                }
                try? await connection.close()
                throw failure
            }
        }
        do {
            if checkingKey { try await checkKey(key, connection, file: path) }
        } catch {
            try? await connection.close()
            throw SecretError.fromSQLite(error, doing: "opening the store", file: path)
        }
        return LocalSecretStore(path: path, connection: connection, key: key, logger: logger, clock: clock)
    }

    /// Whether `key` fits the file: the same key for an encrypted store, none for a plain one.
    private static func checkKey(_ key: StoreKey?, _ db: SQLiteConnection, file: String) async throws {
        switch (try await LocalSchema.keyCheck(db), key) {
        case (nil, nil):
            return
        case (let check?, let key?):
            try ContentSealing.verify(key, against: check, file: file)
        case (_?, nil):
            throw SecretError(
                .configuration, "\(file) is encrypted: give its key with --store-key-file or SECRETSFS_STORE_KEY_FILE")
        case (nil, let key?):
            let rows = try await db.query("SELECT count(*) AS n FROM versions")
            guard rows.first?.column("n")?.integer == 0 else {
                throw SecretError(
                    .configuration,
                    "\(file) is not encrypted; 'secretsfs store encrypt --store-key-file \(key.source)' converts it")
            }
            // A new store given a key starts encrypted, so no value is ever written plain.
            _ = try await db.query("BEGIN IMMEDIATE")
            do {
                try await seal(db, with: key)
                _ = try await db.query("COMMIT")
            } catch {
                _ = try? await db.query("ROLLBACK")
                throw error
            }
        }
    }

    /// Encrypts a plain store in place, in one transaction: every version's content sealed, the key
    /// check written, the schema moved to the encrypted version. Freed pages are overwritten
    /// (`secure_delete`) and the file rewritten (`VACUUM`), so no plaintext stays in SQLite's pages
    /// or its write-ahead log. Returns how many versions were sealed.
    public static func encrypt(path: String, key: StoreKey, logger: Logger) async throws -> Int {
        let plain = try await open(path: path, logger: logger, clock: SystemTimeSource(), key: nil, checkingKey: false)
        let db = plain.connection
        defer { _ = plain }
        do {
            let sealed: Int = try await plain.lock.withLock {
                guard try await LocalSchema.keyCheck(db) == nil else {
                    throw SecretError(.configuration, "\(path) is already encrypted")
                }
                _ = try await db.query("PRAGMA secure_delete = ON")
                _ = try await db.query("BEGIN IMMEDIATE")
                do {
                    let count = try await seal(db, with: key)
                    _ = try await db.query("COMMIT")
                    _ = try await db.query("VACUUM")
                    _ = try await db.query("PRAGMA wal_checkpoint(TRUNCATE)")
                    return count
                } catch {
                    _ = try? await db.query("ROLLBACK")
                    throw error
                }
            }
            await plain.shutdown()
            logger.info("encrypted the store", metadata: ["file": "\(path)", "versions": "\(sealed)"])
            return sealed
        } catch {
            await plain.shutdown()
            throw SecretError.fromSQLite(error, doing: "encrypting the store", file: path)
        }
    }

    /// Seals every stored version and marks the store encrypted; inside the caller's transaction.
    @discardableResult
    private static func seal(_ db: SQLiteConnection, with key: StoreKey) async throws -> Int {
        let rows = try await db.query("SELECT path, version, kind, content FROM versions")
        for row in rows {
            guard let path = row.column("path")?.string, let version = row.column("version")?.integer,
                let rawKind = row.column("kind")?.integer, let kind = ContentCoding.Kind(rawValue: Int64(rawKind))
            else { throw incompleteRow }
            var plain: [UInt8]
            switch row.column("content") {
            case .blob(let buffer)?: plain = Array(buffer.readableBytesView)
            case .text(let text)?: plain = Array(text.utf8)
            default: throw incompleteRow
            }
            let sealed = try ContentSealing.seal(
                plain, with: key, context: ContentSealing.associatedData(path: path, version: version, kind: kind))
            plain.zeroize()
            _ = try await db.query(
                "UPDATE versions SET content = ?1 WHERE path = ?2 AND version = ?3",
                [.blob(ByteBuffer(bytes: sealed)), .text(path), .integer(version)])
        }
        for statement in LocalSchema.encryptedStatements { _ = try await db.query(statement) }
        _ = try await db.query(
            "INSERT INTO meta (name, value) VALUES ('key_check', ?1)",
            [.blob(ByteBuffer(bytes: try ContentSealing.keyCheck(key)))])
        return rows.count
    }

    /// `$XDG_DATA_HOME/secretsfs/secrets.db`, else `~/.local/share/secretsfs/secrets.db`.
    public static func defaultPath(environment: [String: String], homeDirectory: String) -> String {
        StoreFile.defaultPath(environment: environment, homeDirectory: homeDirectory)
    }

    // MARK: Reading

    public func read(_ secret: SecretPath, version: String?) async throws -> Secret {
        guard !secret.isRoot else { throw SecretError.notFound(secret) }
        let rows: [SQLiteRow]
        if let version {
            guard let number = Self.versionNumber(version) else {
                throw SecretError.notFound(secret, "no such version")
            }
            rows = try await query(
                "reading a secret",
                "SELECT version, created_at, kind, content FROM versions WHERE path = ?1 AND version = ?2",
                [.text(secret.string), .integer(SQLiteInt64(number))])
        } else {
            rows = try await query(
                "reading a secret",
                """
                SELECT v.version, v.created_at, v.kind, v.content FROM secrets s
                JOIN versions v ON v.path = s.path AND v.version = s.current_version WHERE s.path = ?1
                """,
                [.text(secret.string)])
        }
        guard let row = rows.first else {
            throw SecretError.notFound(secret, version == nil ? "no such secret" : "no such version")
        }
        try await checkStillPlain()
        do {
            return try Self.secret(from: row, path: secret, key: key)
        } catch {
            throw error.at(secret)
        }
    }

    public func list(_ folder: SecretPath) async throws -> Listing {
        let rows: [SQLiteRow]
        if folder.isRoot {
            rows = try await query("listing", "SELECT path FROM secrets", [])
        } else {
            rows = try await query(
                "listing", "SELECT path FROM secrets WHERE substr(path, 1, length(?1)) = ?1",
                [.text(folder.string + "/")])
        }
        let paths = rows.compactMap { $0.column("path")?.string }.map {
            $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        }
        return Listing.children(of: folder, among: paths) { reportUnshowable($0) }
    }

    /// One query for a folder's names and the current secrets directly in it: a walk of 1,000
    /// secrets is one query, not 1,001. Deeper secrets give their paths only.
    public func listWithCurrent(_ folder: SecretPath) async throws -> ListingWithCurrent {
        let prefix = folder.isRoot ? "" : folder.string + "/"
        let rows = try await query(
            "listing",
            """
            SELECT s.path, v.version, v.created_at, v.kind,
                CASE WHEN instr(substr(s.path, ?2), '/') = 0 THEN v.content END AS content
            FROM secrets s JOIN versions v ON v.path = s.path AND v.version = s.current_version
            WHERE substr(s.path, 1, length(?1)) = ?1
            """,
            [.text(prefix), .integer(SQLiteInt64(prefix.utf8.count + 1))])
        var paths: [[String]] = []
        var current: [String: Secret] = [:]
        // Names stay plain in a sealed store; only values read here could be ciphertext.
        var valuesReadable = true
        if !rows.isEmpty {
            do { try await checkStillPlain() } catch { valuesReadable = false }
        }
        for row in rows {
            guard let text = row.column("path")?.string else { continue }
            let segments = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            paths.append(segments)
            guard valuesReadable, segments.count == folder.segments.count + 1, row.column("content")?.isNull == false,
                let path = try? SecretPath(text)
            else { continue }
            // A row that cannot be read here is read on its own, where its error has its place.
            current[path.name] = try? Self.secret(from: row, path: path, key: key)
        }
        return ListingWithCurrent(Listing.children(of: folder, among: paths) { reportUnshowable($0) }, current: current)
    }

    public func versions(of secret: SecretPath) async throws -> [VersionInfo] {
        let rows = try await query(
            "listing versions", "SELECT version, created_at FROM versions WHERE path = ?1 ORDER BY version",
            [.text(secret.string)])
        guard !rows.isEmpty else { throw SecretError.notFound(secret) }
        let versions = try rows.map { row throws(SecretError) in
            guard let number = row.column("version")?.integer else { throw Self.incompleteRow.at(secret) }
            return VersionInfo(id: String(number), createdAt: Self.date(row.column("created_at")))
        }
        return VersionInfo.labellingCurrentAndPrevious(versions)
    }

    // MARK: Writing

    public func write(_ secret: SecretPath, content: SecretContent) async throws -> VersionInfo {
        try Self.checkWritable(secret, content)
        let now = clock.wallNow()
        let key = self.key
        let number = try await transaction("writing a secret") { db in
            try await Self.insertVersion(db, secret, content, at: now, key: key)
        }
        logger.info("wrote a new version", metadata: ["path": "\(secret)", "version": "\(number)"])
        return VersionInfo(id: String(number), createdAt: now, labels: [VersionInfo.current])
    }

    public func rotate(_ request: RotationRequest) async throws -> RotationResult {
        let secret = request.path
        let key = self.key
        guard !secret.isRoot else { throw SecretError.notFound(secret) }
        let now = clock.wallNow()
        let (old, new) = try await transaction("rotating a secret") { db in
            let rows = try await db.query(
                """
                SELECT v.version, v.kind, v.content FROM secrets s
                JOIN versions v ON v.path = s.path AND v.version = s.current_version WHERE s.path = ?1
                """,
                [.text(secret.string)])
            guard let row = rows.first else { throw SecretError.notFound(secret) }
            guard let old = row.column("version")?.integer else { throw Self.incompleteRow.at(secret) }
            let current = try Self.content(from: row, path: secret, version: old, key: key)
            let rotated: SecretContent
            do throws(SecretError) {
                rotated = try current.rotated(field: request.field, to: request.generate())
            } catch {
                throw error.at(secret)
            }
            let new = try await Self.insertVersion(db, secret, rotated, at: now, key: key)
            return (old, new)
        }
        // The mount (or `rotate`) says it at info; a second line would repeat it.
        logger.debug(
            "rotated a secret",
            metadata: ["path": "\(secret)", "field": "\(request.field ?? "-")", "version": "\(new)"])
        return RotationResult(path: secret, field: request.field, oldVersion: String(old), newVersion: String(new))
    }

    // MARK: Lifecycle

    public func health() async -> HealthReport {
        do {
            let rows = try await query("checking health", "SELECT count(*) AS n FROM secrets", [])
            let count = rows.first?.column("n")?.integer ?? 0
            return HealthReport(healthy: true, detail: "\(count) secrets in \(path)")
        } catch {
            return HealthReport(healthy: false, detail: SecretError.from(error).description)
        }
    }

    public func shutdown() async {
        await lock.withLock {
            let first = closed.withLock { wasClosed in
                defer { wasClosed = true }
                return !wasClosed
            }
            if first { try? await connection.close() }
        }
    }

    // MARK: Helpers

    /// Runs one statement alone on the connection.
    func query(_ what: String, _ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        let connection = self.connection
        let file = path
        return try await lock.withLock {
            do {
                return try await connection.query(sql, binds)
            } catch {
                throw SecretError.fromSQLite(error, doing: what, file: file)
            }
        }
    }

    /// A plain store that `secretsfs store encrypt` sealed while this process had it open now holds
    /// ciphertext where values were: refused rather than shown as a value (DESIGN §6).
    private func checkStillPlain() async throws {
        guard key == nil else { return }
        let connection = self.connection
        let file = path
        let version = try await lock.withLock {
            do {
                return try await LocalSchema.userVersion(connection)
            } catch {
                throw SecretError.fromSQLite(error, doing: "reading the store's version", file: file)
            }
        }
        if version == LocalSchema.encryptedVersion { throw SecretError.encryptedUnderneath(file) }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` … `COMMIT`, rolled back when anything fails. IMMEDIATE
    /// takes the write lock up front, so two writers never both read version N and both write N+1.
    private func transaction<T: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let connection = self.connection
        let file = path
        return try await lock.withLock {
            do {
                _ = try await connection.query("BEGIN IMMEDIATE")
            } catch {
                throw SecretError.fromSQLite(error, doing: what, file: file)
            }
            do {
                // Checked under the write lock: nothing plain is written into a store sealed since it opened.
                if key == nil, try await LocalSchema.userVersion(connection) == LocalSchema.encryptedVersion {
                    throw SecretError.encryptedUnderneath(file)
                }
                let result = try await body(connection)
                _ = try await connection.query("COMMIT")
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw SecretError.fromSQLite(error, doing: what, file: file)
            }
        }
    }

    private static func insertVersion(
        _ db: SQLiteConnection,
        _ secret: SecretPath,
        _ content: SecretContent,
        at time: Date,
        key: StoreKey?
    ) async throws -> Int {
        let rows = try await db.query(
            "SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE path = ?1", [.text(secret.string)])
        guard let next = rows.first?.column("next")?.integer else { throw incompleteRow.at(secret) }
        var bytes = ContentCoding.encode(content)
        if let key {
            let context = ContentSealing.associatedData(
                path: secret.string, version: next, kind: ContentCoding.kind(of: content))
            let sealed = try ContentSealing.seal(bytes, with: key, context: context)
            bytes.zeroize()
            bytes = sealed
        }
        var buffer = ByteBuffer(bytes: bytes)
        bytes.zeroize()
        defer { _ = buffer.withUnsafeMutableReadableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        _ = try await db.query(
            "INSERT INTO versions (path, version, created_at, kind, content) VALUES (?1, ?2, ?3, ?4, ?5)",
            [
                .text(secret.string), .integer(next), .float(time.timeIntervalSince1970),
                .integer(SQLiteInt64(ContentCoding.kind(of: content).rawValue)), .blob(buffer),
            ])
        _ = try await db.query(
            """
            INSERT INTO secrets (path, current_version) VALUES (?1, ?2)
            ON CONFLICT (path) DO UPDATE SET current_version = excluded.current_version
            """,
            [.text(secret.string), .integer(next)])
        return next
    }

    private static func checkWritable(_ secret: SecretPath, _ content: SecretContent) throws(SecretError) {
        guard !secret.isRoot else { throw SecretError(.invalidArgument, "cannot write the root folder") }
        guard case .fields(let fields) = content else { return }
        guard !fields.isEmpty else {
            throw SecretError(.invalidArgument, "a multi-field secret needs a field", path: secret)
        }
        for name in fields.keys where !SecretPath.isValidSegment(name) {
            throw SecretError(.invalidArgument, "field name cannot be shown as a file name", path: secret)
        }
    }

    private static func secret(from row: SQLiteRow, path: SecretPath, key: StoreKey?) throws(SecretError) -> Secret {
        guard let number = row.column("version")?.integer else { throw incompleteRow }
        return Secret(
            content: try content(from: row, path: path, version: number, key: key), version: String(number),
            createdAt: date(row.column("created_at")))
    }

    private static func content(
        from row: SQLiteRow, path: SecretPath, version: Int, key: StoreKey?
    ) throws(SecretError) -> SecretContent {
        guard let kind = row.column("kind")?.integer else { throw incompleteRow }
        if let key {
            guard case .blob(let buffer)? = row.column("content"),
                let coding = ContentCoding.Kind(rawValue: Int64(kind))
            else { throw incompleteRow }
            var plain = try ContentSealing.open(
                buffer.readableBytesView, with: key,
                context: ContentSealing.associatedData(path: path.string, version: version, kind: coding))
            defer { plain.zeroize() }
            return try ContentCoding.decode(kind: Int64(kind), bytes: plain)
        }
        switch row.column("content") {
        case .blob(let buffer)?:
            return try ContentCoding.decode(kind: Int64(kind), bytes: buffer.readableBytesView)
        case .text(let text)?:
            // Someone edited the file by hand with sqlite3; the text is still the value's bytes.
            return try ContentCoding.decode(kind: Int64(kind), bytes: Array(text.utf8))
        default:
            throw incompleteRow
        }
    }

    private static func date(_ data: SQLiteData?) -> Date? {
        data?.double.map { Date(timeIntervalSince1970: $0) }
    }

    /// `3` for "3"; nil for anything that is not a version id this store hands out ("03", "x", "0").
    static func versionNumber(_ id: String) -> Int? {
        guard let number = Int(id), number > 0, String(number) == id else { return nil }
        return number
    }

    private static var incompleteRow: SecretError {
        SecretError(.malformedResponse, "a stored row is incomplete")
    }

    private func reportUnshowable(_ stored: String) {
        guard reportedNames.first(stored) else { return }
        logger.warning("skipping a stored secret whose name cannot be shown", metadata: ["path": "\(stored)"])
    }
}
