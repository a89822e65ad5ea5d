/// The one error type every store throws. Its message names what went wrong and where, never a
/// value, a token or a credential: it ends up in logs, `.status` and on a user's terminal.
public struct SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; the file system maps each code to one errno.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No such secret, version, field or folder.
        public static let notFound = Code("not_found")
        /// The backend or a local policy refuses this caller.
        public static let permissionDenied = Code("permission_denied")
        /// The backend could not be reached, timed out, throttled or failed (5xx).
        /// The only code the cache may hide behind a stale value.
        public static let unavailable = Code("unavailable")
        /// The backend cannot do this at all (rotate on env).
        public static let unsupported = Code("unsupported")
        /// The request itself is bad: a malformed path, an empty `.rotate` line.
        public static let invalidArgument = Code("invalid_argument")
        /// A name longer than a file system allows.
        public static let nameTooLong = Code("name_too_long")
        /// A write to something that is not `.rotate`.
        public static let readOnly = Code("read_only")
        /// A check-and-set lost to a concurrent writer, even after retrying.
        public static let conflict = Code("conflict")
        /// The backend answered, but not in a shape we understand.
        public static let malformedResponse = Code("malformed_response")
        /// Configuration is wrong or missing: no address, no credentials.
        public static let configuration = Code("configuration")
        /// No extended attribute of that name.
        public static let noSuchAttribute = Code("no_such_attribute")
        /// A bug or an unexpected failure of our own.
        public static let `internal` = Code("internal")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var path: SecretPath?

    public init(_ code: Code, _ message: String, path: SecretPath? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public static func notFound(_ path: SecretPath, _ what: String = "no such secret") -> SecretError {
        SecretError(.notFound, what, path: path)
    }

    public static func unsupported(_ what: String) -> SecretError {
        SecretError(.unsupported, what)
    }

    public func at(_ path: SecretPath) -> SecretError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    public var description: String {
        if let path { return "\(message) (\(path))" }
        return message
    }

    /// Any error as a SecretError; what we do not know is `internal` and keeps only its type name,
    /// because a foreign error's description may quote a response body.
    public static func from(_ error: any Error) -> SecretError {
        if let error = error as? SecretError { return error }
        return SecretError(.internal, "unexpected \(type(of: error))")
    }
}
