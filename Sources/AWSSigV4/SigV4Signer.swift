import Crypto

import struct Foundation.Date

/// A request as the signer sees it. `path` is the path as sent on the wire (already
/// percent-encoded); query names and values are raw, the signer encodes them.
public struct SigV4Request: Sendable {
    public var method: String
    public var path: String
    public var query: [(name: String, value: String)]
    /// Every header that will be sent and should be signed; `host` must be among them.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        method: String,
        path: String = "/",
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)],
        body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// Everything signing produced. The intermediate strings are kept so tests can compare each step
/// with the published test suite; none of them holds the secret key.
public struct SigV4Signature: Sendable {
    public var canonicalRequest: String
    public var stringToSign: String
    public var signedHeaders: String
    public var signature: String
    public var authorization: String
    /// What to add to the request: X-Amz-Date, X-Amz-Security-Token (temporary credentials),
    /// X-Amz-Content-Sha256 (when asked for) and Authorization.
    public var headers: [(name: String, value: String)]
}

/// AWS Signature Version 4 for one region and service. Pure: the date is an input, never read here.
public struct SigV4Signer: Sendable {
    public var region: String
    public var service: String
    /// Sends X-Amz-Content-Sha256 too (S3 requires it; the JSON services accept it).
    public var addsContentHashHeader: Bool

    public init(region: String, service: String, addsContentHashHeader: Bool = false) {
        self.region = region
        self.service = service
        self.addsContentHashHeader = addsContentHashHeader
    }

    static let algorithm = "AWS4-HMAC-SHA256"
    /// Headers the signer owns: a caller's copy would otherwise be signed twice or go stale.
    static let ownedHeaders: Set<String> = [
        "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
    ]

    public func sign(_ request: SigV4Request, credentials: SigV4Credentials, date: Date) -> SigV4Signature {
        let (amzDate, day) = SigV4Encoding.amzDate(date)
        let payloadHash = SigV4Encoding.hex(SHA256.hash(data: request.body))

        var added: [(name: String, value: String)] = [("X-Amz-Date", amzDate)]
        if addsContentHashHeader { added.append(("X-Amz-Content-Sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }

        let toSign = request.headers.filter { !Self.ownedHeaders.contains($0.name.lowercased()) } + added
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(toSign)
        let canonicalRequest = [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            Self.algorithm, amzDate, scope, SigV4Encoding.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        let key = signingKey(secretAccessKey: credentials.secretAccessKey, day: day)
        let signature = SigV4Encoding.hex(Self.hmac(key: key, Array(stringToSign.utf8)))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
            + "Signature=\(signature)"
        added.append(("Authorization", authorization))
        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
            signature: signature, authorization: authorization, headers: added)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    func signingKey(secretAccessKey: String, day: String) -> [UInt8] {
        var key = Self.hmac(key: Array("AWS4\(secretAccessKey)".utf8), Array(day.utf8))
        key = Self.hmac(key: key, Array(region.utf8))
        key = Self.hmac(key: key, Array(service.utf8))
        return Self.hmac(key: key, Array("aws4_request".utf8))
    }

    /// S3 signs the path as sent; every other service signs it encoded once more.
    func canonicalURI(_ path: String) -> String {
        let path = path.isEmpty ? "/" : path
        return service == "s3" ? path : SigV4Encoding.uriEncode(path, keepSlash: true)
    }

    /// One query parameter, named so that the closures below are not inferred: inferred, this one
    /// function took seconds of the release build to type-check.
    private typealias QueryPair = (name: String, value: String)

    /// Encoded, then sorted by name and, for a repeated name, by value.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded = query.map { (pair: QueryPair) -> QueryPair in
            (name: SigV4Encoding.uriEncode(pair.name), value: SigV4Encoding.uriEncode(pair.value))
        }
        let sorted = encoded.sorted { (left: QueryPair, right: QueryPair) -> Bool in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { (pair: QueryPair) -> String in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Lower-case names, sorted; values trimmed with inner runs of spaces collapsed; repeated
    /// names joined with commas in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(trimmed(value))
        }
        let names = merged.keys.sorted()
        let lines = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    static func trimmed(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in value {
            if character == " " || character == "\t" || character == "\n" || character == "\r" {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(character)
        }
        return out
    }

    static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}
