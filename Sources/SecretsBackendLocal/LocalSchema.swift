import SQLiteNIO
import SecretsCore

/// The tables: one row per secret naming its current version, one row per version holding the
/// content. Version numbers count from 1 per path and are never reused.
enum LocalSchema {
    /// Kept in `PRAGMA user_version`; a file made by a newer secretsfs is refused, not damaged.
    /// A plain store stays at 1, so an older secretsfs still opens it; an encrypted one is at 2
    /// (it has `meta`), which an older secretsfs refuses instead of showing ciphertext as values.
    static let version = 1
    static let encryptedVersion = 2

    /// Turns a plain store into an encrypted one, inside the caller's transaction.
    static let encryptedStatements = [
        "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID",
        "PRAGMA user_version = \(encryptedVersion)",
    ]

    /// How long a writer waits for another process's write (the CLI while the daemon reads).
    static let busyTimeoutMilliseconds = 5000

    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS secrets (
            path TEXT PRIMARY KEY NOT NULL,
            current_version INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE IF NOT EXISTS versions (
            path TEXT NOT NULL,
            version INTEGER NOT NULL,
            created_at REAL NOT NULL,
            kind INTEGER NOT NULL,
            content BLOB NOT NULL,
            PRIMARY KEY (path, version)
        )
        """,
        "PRAGMA user_version = \(version)",
    ]

    /// Sets the connection up and creates the tables when the file is new.
    static func prepare(_ db: SQLiteConnection, file: String) async throws {
        // busy_timeout replaces sqlite-nio's own busy handler, which retries in a tight loop forever.
        _ = try await db.query("PRAGMA busy_timeout = \(busyTimeoutMilliseconds)")
        // WAL lets readers (the daemon) go on while a writer (the CLI) commits.
        _ = try await db.query("PRAGMA journal_mode = WAL")
        if try await [version, encryptedVersion].contains(userVersion(db)) { return }
        _ = try await db.query("BEGIN IMMEDIATE")
        do {
            let found = try await userVersion(db)
            if found > encryptedVersion {
                throw SecretError(
                    .configuration,
                    "\(file) has schema version \(found); this secretsfs knows up to \(encryptedVersion)")
            }
            if found == 0 {
                for statement in statements { _ = try await db.query(statement) }
            }
            _ = try await db.query("COMMIT")
        } catch {
            _ = try? await db.query("ROLLBACK")
            throw error
        }
    }

    /// The sealed key check of an encrypted store; nil for a plain one.
    static func keyCheck(_ db: SQLiteConnection) async throws -> [UInt8]? {
        guard try await userVersion(db) == encryptedVersion else { return nil }
        let rows = try await db.query("SELECT value FROM meta WHERE name = 'key_check'")
        guard case .blob(let buffer)? = rows.first?.column("value") else {
            throw SecretError(.malformedResponse, "the encrypted store has no key check")
        }
        return Array(buffer.readableBytesView)
    }

    static func userVersion(_ db: SQLiteConnection) async throws -> Int {
        let rows = try await db.query("PRAGMA user_version")
        return rows.first?.column("user_version")?.integer ?? 0
    }
}
