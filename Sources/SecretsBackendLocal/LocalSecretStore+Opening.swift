import Logging
import SQLiteNIO
import SecretsCore

extension LocalSecretStore {
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

    static func open(
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
}
