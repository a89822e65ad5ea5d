import Logging
import SQLiteNIO
import SecretsCore

extension LocalSecretStore {
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
    static func seal(_ db: SQLiteConnection, with key: StoreKey) async throws -> Int {
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
}
