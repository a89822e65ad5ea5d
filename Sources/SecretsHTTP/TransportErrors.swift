import AsyncHTTPClient
import NIOCore
import NIOPosix
import NIOSSL
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// What went wrong below HTTP, as the layer tells backends: a kind and a fixed phrase, never a URL's
/// query, a header or a body. The client's own error is kept as the `SecretError`'s cause.
enum TransportErrors {
    /// A connection closed or reset under a request before its answer began: what a request meets on a
    /// pooled keep-alive connection the other end (a balancer) dropped while it sat idle. A refused
    /// connection is not one.
    /// A request that waited for a free pooled connection longer than the client's connect timeout:
    /// it never left, so it may go again whatever it changes (`HTTPLayer.call`, within its deadline).
    static func isUnsentForWantOfAConnection(_ error: any Error) -> Bool {
        (error as? HTTPClientError) == .getConnectionFromPoolTimeout
    }

    static func isDroppedConnection(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .remoteConnectionClosed
        case let error as IOError:
            return [ECONNRESET, EPIPE].contains(error.errnoCode)
        case let error as ChannelError:
            return [.ioOnClosedChannel, .outputClosed, .eof, .inputClosed].contains(error)
        default:
            return false
        }
    }

    /// A failure that left the request unsent: no connection was made (refused, or none within the
    /// connect timeout). Anything else may have reached the server.
    static func neverReachedServer(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            return error == .connectTimeout
        case let error as IOError:
            return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(error.errnoCode)
        case is NIOConnectionError:
            return true
        case let error as ChannelError:
            if case .connectTimeout = error { return true }
            return false
        default:
            return false
        }
    }

    /// A failure before any status, as a `SecretError` whose message is only the reason. Too large an
    /// answer is malformed; everything else is unavailable, the one code a cache may hide behind a
    /// stale value.
    static func classify(_ error: any Error) -> SecretError {
        let reason: String
        switch error {
        case let error as SecretError:
            return error
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout:
                reason = "timed out"
            case .bodyLengthMismatch, .remoteConnectionClosed:
                reason = "connection closed"
            case .cancelled:
                reason = "cancelled"
            default:
                // A fixed phrase per case: it never holds a body.
                reason = "connection failed (\(String(describing: error).prefix(80)))"
            }
        case is NIOSSLError, is BoringSSLError:
            reason = "TLS handshake failed (is the CA certificate right?)"
        case let error as IOError:
            reason = "connection failed (\(error.errnoCode == ECONNREFUSED ? "refused" : "errno \(error.errnoCode)"))"
        case is NIOTooManyBytesError:
            return SecretError(
                .malformedResponse, "answer larger than \(HTTPClientSetup.maxBodyBytes) bytes", cause: error)
        case is ChannelError:
            // A pooled keep-alive connection to a server that died is seen closed, not refused.
            reason = "connection closed"
        case is CancellationError:
            reason = "cancelled"
        default:
            // DNS and the like: the error's type says enough and quotes nothing.
            reason = "connection failed (\(type(of: error)))"
        }
        return SecretError(.unavailable, reason, cause: error)
    }
}
