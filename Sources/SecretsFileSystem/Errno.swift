import Logging
import SecretsCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one place where errors become errno values (DESIGN section 4). What is not known becomes
/// EIO and one log line.
public enum ErrnoMapping {
    public static func errno(for error: any Error, logger: Logger? = nil) -> Int32 {
        guard let error = error as? SecretError else {
            logger?.error("unexpected error mapped to EIO", metadata: ["type": "\(type(of: error))"])
            return EIO
        }
        switch error.code {
        case .notFound: return ENOENT
        case .permissionDenied: return EACCES
        case .unavailable, .conflict, .malformedResponse, .configuration: return EIO
        case .unsupported: return EOPNOTSUPP
        case .invalidArgument: return EINVAL
        case .nameTooLong: return ENAMETOOLONG
        case .readOnly: return EROFS
        case .noSuchAttribute: return ENODATA
        case .wouldBlock: return EAGAIN
        default:
            logger?.error("unexpected error mapped to EIO", metadata: ["kind": "\(error.code)"])
            return EIO
        }
    }
}
