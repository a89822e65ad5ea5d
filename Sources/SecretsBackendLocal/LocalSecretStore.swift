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
    let lock = AsyncLock()
    private let logger: Logger
    private let clock: any TimeSource
    /// Stored paths already reported as unshowable.
    private let reportedNames = LogOnce()
    /// sqlite-nio crashes when a connection is closed twice (its hooks are cleared on a null
    /// handle), so shutdown and deinit close it once between them.
    private let closed = Mutex(false)

    init(
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

    static var incompleteRow: SecretError {
        SecretError(.malformedResponse, "a stored row is incomplete")
    }

    private func reportUnshowable(_ stored: String) {
        guard reportedNames.first(stored) else { return }
        logger.warning("skipping a stored secret whose name cannot be shown", metadata: ["path": "\(stored)"])
    }
}
