import SecretsCore

/// The code of the SecretError `body` throws, or nil when it throws none; `.internal` for any
/// other error, which no store should throw.
public func errorCode(_ body: () async throws -> Void) async -> SecretError.Code? {
    do {
        try await body()
        return nil
    } catch let error as SecretError {
        return error.code
    } catch {
        return .internal
    }
}
