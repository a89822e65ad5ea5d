import NIOHTTP1

/// One request as a backend shapes it. Built afresh for every attempt, so a signature or a date in
/// it is current. The body may hold a secret: the layer sends it and never logs it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(name: String, value: String)]
    /// Nil sends no body; an empty array sends an empty one (a POST or PUT without content).
    public var body: [UInt8]?

    public init(method: HTTPMethod, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// One HTTP answer, whole. The body may hold secret bytes: callers decode it and let it go.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, headerPairs: [(String, String)], body: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders(headerPairs), body: body)
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public func header(_ name: String) -> String? { headers.first(name: name) }

    /// A Retry-After given in seconds, the form Vault, AWS and proxies use; nil for a date or nothing.
    public var retryAfter: Duration? {
        header("Retry-After").flatMap(Int64.init).flatMap { $0 >= 0 ? .seconds($0) : nil }
    }
}
