/// The one error type every store throws. Its message names what went wrong and where, never a
/// value, a token or a credential: it ends up in logs, `.status` and on a user's terminal.
///
/// `cause` keeps the error underneath (an HTTP client's, SQLite's) for a debugger or a test, as
/// swift-nio's `FileSystemError` does. It is never printed: a foreign error's description may
/// quote a request or a response body, so neither `description` nor `==` looks at it.
public struct SecretError: Error, Sendable, Equatable, CustomStringConvertible, CustomReflectable {
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
        /// Nothing to read yet on a descriptor opened with O_NONBLOCK (`.events`).
        public static let wouldBlock = Code("would_block")
        /// No extended attribute of that name.
        public static let noSuchAttribute = Code("no_such_attribute")
        /// A bug or an unexpected failure of our own.
        public static let `internal` = Code("internal")

        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var path: SecretPath?
    /// The error this one stands for, if any. Never part of a message.
    public var cause: (any Error)?
    /// A NotFound from a replica that may not have applied the newest writes yet (a Vault standby):
    /// the cache remembers it only for `CachePolicy.replicaMissTTL`, not the whole negative TTL.
    public var fromReplica = false

    public init(_ code: Code, _ message: String, path: SecretPath? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.cause = cause
    }

    /// Equal when code, message and path are: the cause is detail, and foreign errors are rarely Equatable.
    public static func == (lhs: SecretError, rhs: SecretError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.path == rhs.path
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

    /// What `dump` and a debugger's summary show: the cause stays out, for the reason above.
    public var customMirror: Mirror {
        Mirror(self, children: ["code": code, "message": message, "path": path as Any], displayStyle: .struct)
    }

    /// Any error as a SecretError; what we do not know is `internal`, names only its type (a foreign
    /// error's description may quote a response body) and keeps the error itself as its cause.
    public static func from(_ error: any Error) -> SecretError {
        if let error = error as? SecretError { return error }
        return SecretError(.internal, "unexpected \(type(of: error))", cause: error)
    }
}
