import SQLiteNIO
import SecretsCore

extension SecretError {
    /// One SecretError for anything the SQLite layer throws. Only the reason is kept, never
    /// SQLite's message: it may quote the statement, and statements are near values.
    static func fromSQLite(_ error: any Error, doing what: String, file: String) -> SecretError {
        if let error = error as? SecretError { return error }
        guard let error = error as? SQLiteError else {
            return SecretError(.internal, "\(what) failed: unexpected \(type(of: error))")
        }
        let reason = "\(error.reason)"
        let code: Code
        switch error.reason {
        case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .lockedBySharedCache:
            return SecretError(.unavailable, "\(what) failed: the store \(file) stayed locked by another writer")
        case .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .notADatabase, .format:
            return SecretError(
                .malformedResponse, "\(what) failed: \(file) is corrupt or not a secretsfs database (\(reason))")
        case .permission, .readOnly, .readonlyCantLock, .readonlyDirectory, .readonlyInRecovery, .readonlyInRollback,
            .readonlyBackingMoved, .auth, .authUnauthorizedUser:
            code = .permissionDenied
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .cantOpenUnfollowedSymlink, .full, .noMemory,
            .ioError, .interrupt, .misuse:
            // misuse: the connection was closed under us (shutdown), which a caller sees as "not there".
            code = .unavailable
        default:
            if reason.hasPrefix("ioError") {
                code = .unavailable
            } else {
                code = .internal
            }
        }
        return SecretError(code, "\(what) failed: sqlite \(reason) on \(file)")
    }
}

extension SecretError {
    static func encryptedUnderneath(_ file: String) -> SecretError {
        SecretError(
            .unavailable, "\(file) was encrypted after this mount opened it: mount it again with its --store-key-file")
    }
}
