import Foundation
import SecretsCore
import SecretsHTTP

/// What to do about an answer that was not a success.
enum AWSErrorOutcome: Sendable, Equatable {
    case fail(SecretError)
    /// Transient: try again after a pause, while the call's deadline allows.
    case retry(String)
    /// The session token ran out: fetch credentials again and retry once.
    case expiredCredentials
}

/// Reads the error type from an answer and decides what it means. Errors are told apart by their
/// type, never by HTTP status alone: moto answers 404 where AWS answers 400. Only the type name
/// (a fixed identifier) is ever put in a message; the body's `message` may quote input.
enum AWSErrorClassifier {
    static let notFound: Set<String> = [
        "ResourceNotFoundException", "NoSuchEntity", "ParameterNotFound", "ParameterVersionNotFound",
    ]
    static let denied: Set<String> = [
        "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
        "IncompleteSignature", "SignatureDoesNotMatch", "InvalidClientTokenId", "MissingAuthenticationToken",
        "AuthFailure", "DecryptionFailure", "InvalidIdentityToken", "NotAuthorized",
    ]
    static let expired: Set<String> = ["ExpiredTokenException", "ExpiredToken", "RequestExpired"]
    static let transient: Set<String> = [
        "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
        "InternalServiceError", "InternalServiceErrorException", "InternalFailure", "ServiceUnavailable",
        "ServiceUnavailableException", "IDPCommunicationError", "RequestTimeout", "RequestTimeoutException",
    ]
    static let invalid: Set<String> = [
        "InvalidParameterException", "InvalidRequestException", "ValidationException",
        "MalformedPolicyDocumentException",
        "PreconditionNotMetException", "InvalidNextTokenException", "ValidationException", "InvalidKeyId",
        "ParameterVersionLabelLimitExceeded",
    ]
    static let conflicts: Set<String> = ["ResourceExistsException"]

    /// The error type of an answer: JSON `__type`, else the `x-amzn-ErrorType` header, else the
    /// `<Code>` of an XML error (STS, and moto when it checks signatures). `prefix#` and `:suffix`
    /// decorations are dropped.
    static func errorType(_ exchange: HTTPAnswer) -> String? {
        if let object = try? JSONSerialization.jsonObject(with: Data(exchange.body)) as? [String: Any] {
            if let type = (object["__type"] ?? object["code"] ?? object["Code"]) as? String {
                return clean(type)
            }
        }
        if let header = exchange.header("x-amzn-ErrorType") { return clean(header) }
        if let code = XMLFields.first("Code", in: exchange.body) { return clean(code) }
        return nil
    }

    static func clean(_ type: String) -> String {
        var name = Substring(type)
        if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        return name.trimmingCharacters(in: .whitespaces)
    }

    static func classify(status: Int, type: String?, service: String, operation: String) -> AWSErrorOutcome {
        let what = "\(service) \(operation)"
        if let type {
            if notFound.contains(type) { return .fail(SecretError(.notFound, "no such secret or version")) }
            if expired.contains(type) { return .expiredCredentials }
            if denied.contains(type) { return .fail(SecretError(.permissionDenied, "\(what) denied (\(type))")) }
            if transient.contains(type) { return .retry(type) }
            if invalid.contains(type) {
                return .fail(SecretError(.invalidArgument, "\(what) refused the request (\(type))"))
            }
            if conflicts.contains(type) { return .fail(SecretError(.conflict, "\(what) failed (\(type))")) }
        }
        switch status {
        case 500...599, 429: return .retry(type ?? "HTTP \(status)")
        case 401, 403: return .fail(SecretError(.permissionDenied, "\(what) denied (HTTP \(status))"))
        default:
            if let type { return .fail(SecretError(.internal, "\(what) failed (\(type))")) }
            return .fail(SecretError(.malformedResponse, "\(what) answered HTTP \(status) without an error type"))
        }
    }
}

/// Just enough XML for the query protocol's answers (STS) and XML errors: the text of the first
/// element with a given name. The values read this way (keys, tokens, dates, error codes) never
/// contain markup.
enum XMLFields {
    static func first(_ name: String, in body: [UInt8]) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let open = text.range(of: "<\(name)>"),
            let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return unescape(String(text[open.upperBound..<close.lowerBound]))
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
