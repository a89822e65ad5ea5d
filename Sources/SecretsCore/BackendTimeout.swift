/// The deadline of one backend call, retries included: one default and one rule for every backend,
/// the cache and the `--backend-timeout` flag, so that a bad value is refused the same way wherever
/// it comes from.
public enum BackendTimeout {
    public static let standard: Duration = .seconds(5)

    /// Why a deadline is refused. Quotes no value: the flag's own value may come from a config file.
    public static let refusal = "--backend-timeout must be more than 0 (e.g. 5s)"

    /// `given`, or the standard deadline when nothing was given. A zero or negative deadline fails
    /// every call before it is sent (a mount would answer every read with EIO), so it is refused.
    public static func resolve(_ given: Duration?) throws(SecretError) -> Duration {
        let timeout = given ?? standard
        guard timeout > .zero else { throw SecretError(.configuration, refusal) }
        return timeout
    }
}
