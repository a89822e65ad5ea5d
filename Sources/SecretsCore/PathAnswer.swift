/// A child task's answer for one path (the walk of listings, the one-by-one bulk read).
///
/// A struct, and built only once the call has answered: Swift 6.3's optimizer corrupts a tuple that
/// an async closure returns through a generic result when part of it is written before a suspension
/// and the rest after it (swiftlang/swift#91911, reverted, so still open in 6.3.1). In the release
/// build the task groups that returned `(path, try await …)` lost every answer or crashed the worker;
/// the debug build, which the tests run, was not affected.
struct PathAnswer<Value: Sendable>: Sendable {
    let path: SecretPath
    let result: Result<Value, SecretError>

    /// Runs `call` and keeps its answer or its error, as `SecretError`, for `path`.
    static func of(_ path: SecretPath, _ call: @Sendable () async throws -> Value) async -> PathAnswer {
        let result: Result<Value, SecretError>
        do {
            let value = try await call()
            result = .success(value)
        } catch {
            result = .failure(SecretError.from(error))
        }
        return PathAnswer(path: path, result: result)
    }
}
