import AsyncHTTPClient
import NIOSSL

/// The one way a backend gets its `HTTPClient`; every call of a store shares it, so connections are
/// reused and one `shutdown` releases them.
public enum HTTPClientSetup {
    /// The largest answer read. Vault's default `max_request_size` is 32 MiB, so a value Vault accepted
    /// can always be read back; AWS answers (a secret is at most 64 KiB) stay far below it. Past it a
    /// body is not an answer we understand, and reading it all would only cost memory.
    public static let maxBodyBytes = 32 << 20

    /// Connecting may take at most this long, or the call's timeout if shorter. AsyncHTTPClient
    /// retries a refused or failed connection until then and reports that failure (a TLS handshake
    /// that fails, say) instead of a bare timeout, so it must be shorter than the call's deadline.
    public static let maxConnectTimeout: Duration = .seconds(2)

    /// Connections kept to one server: first reads of different secrets run side by side (16 threads
    /// of a service reading its secrets at start), and AsyncHTTPClient's default of 8 left the rest
    /// queued for a connection while a slow server held the first 8.
    public static let connectionsPerHost = 32

    /// - Parameters:
    ///   - callTimeout: the deadline of one call; the client's connect timeout is derived from it.
    ///   - tls: trust roots and verification for https; nil uses the system's.
    ///   - http1Only: no HTTP/2 even where TLS could negotiate it.
    ///   - connectTimeout: a shorter connect timeout than the derived one (a client with other servers
    ///     to try when one does not take connections).
    public static func makeClient(
        callTimeout: Duration, tls: TLSConfiguration? = nil, http1Only: Bool = false, connectTimeout: Duration? = nil
    ) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // A redirect would carry credentials (a token header, a signature) to wherever it points.
            redirectConfiguration: .disallow)
        let connect = min(callTimeout, maxConnectTimeout, connectTimeout ?? maxConnectTimeout)
        // No read timeout: the layer's call deadline bounds a silent server, once (`HTTPLayer.send`).
        configuration.timeout = .init(connect: .nanoseconds(max(1_000_000, connect.nanoseconds)), read: nil)
        if http1Only { configuration.httpVersion = .http1Only }
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        // No spans are exported; without a tracer the client skips building their attributes per call.
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
