import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP answer, whole. The body may hold secret bytes: callers decode it and let it go.
struct HTTPExchange: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first(name: name) }

    init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    init(status: Int, headerPairs: [(String, String)], body: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders(headerPairs), body: body)
    }
}

/// Why an exchange did not happen. Holds a kind of failure, never a URL's secrets nor a body.
struct TransportFailure: Error, Sendable, CustomStringConvertible {
    /// `dropped`: the connection closed or reset under the request before its answer began, as a
    /// pooled keep-alive connection does when the other end (a balancer) dropped it while idle.
    enum Kind: Sendable { case timeout, unreachable, tooLarge, dropped }
    var kind: Kind
    var detail: String
    var description: String { detail }
}

/// The one `HTTPClient` every call of a store shares (Secrets Manager, STS, container and instance
/// credentials), so connections are reused and one `shutdown` releases them.
struct HTTPTransport: Sendable {
    let client: HTTPClient
    static let maxBodyBytes = 8 << 20

    static func make(connectTimeout: Duration) -> HTTPTransport {
        var configuration = HTTPClient.Configuration()
        let millis = max(1, Int64(connectTimeout.seconds * 1000))
        configuration.timeout = .init(connect: .milliseconds(millis), read: nil)
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        // No spans are exported; without a tracer the client skips building their attributes per call.
        configuration.tracing.tracer = nil
        return HTTPTransport(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration))
    }

    func send(
        method: HTTPMethod,
        url: String,
        headers: [(name: String, value: String)],
        body: [UInt8],
        deadline: ContinuousClock.Instant
    ) async throws -> HTTPExchange {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw TransportFailure(kind: .timeout, detail: "deadline passed") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .POST || method == .PUT {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // AsyncHTTPClient keeps retrying a refused connection until its own deadline and may
        // overshoot it; racing a timer keeps the call's deadline exact.
        let prepared = request
        let result = try await withThrowingTaskGroup(of: HTTPExchange?.self) { group in
            group.addTask { try await self.perform(prepared, remaining: remaining) }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let result else { throw TransportFailure(kind: .timeout, detail: "timed out") }
        return result
    }

    private func perform(_ request: HTTPClientRequest, remaining: Duration) async throws -> HTTPExchange {
        do {
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(remaining.nanoseconds))
            let buffer = try await response.body.collect(upTo: Self.maxBodyBytes)
            return HTTPExchange(
                status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout:
                throw TransportFailure(kind: .timeout, detail: "timed out")
            case .cancelled:
                throw CancellationError()
            case .remoteConnectionClosed:
                throw TransportFailure(kind: .dropped, detail: "connection closed before an answer")
            default:
                throw TransportFailure(kind: .unreachable, detail: "connection failed (\(error.shortDescription))")
            }
        } catch is NIOTooManyBytesError {
            throw TransportFailure(kind: .tooLarge, detail: "answer larger than \(Self.maxBodyBytes) bytes")
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as IOError where [ECONNRESET, EPIPE].contains(error.errnoCode) {
            throw TransportFailure(kind: .dropped, detail: "connection reset before an answer")
        } catch let error as ChannelError where [.ioOnClosedChannel, .outputClosed, .eof].contains(error) {
            throw TransportFailure(kind: .dropped, detail: "connection closed before an answer")
        } catch {
            // Connection refused, reset, DNS: the error's type says enough and quotes nothing.
            throw TransportFailure(kind: .unreachable, detail: "connection failed (\(type(of: error)))")
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

extension HTTPClientError {
    /// `HTTPClientError`'s own description is a fixed phrase per case; it never holds a body.
    var shortDescription: String { String(describing: self).prefix(80).description }
}
