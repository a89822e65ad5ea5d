import Foundation
import SecretsCore
import SecretsHTTP
import Testing

@testable import SecretsBackendAWS

/// The pieces that need no server: option precedence, file and date parsing, error classification.
@Suite struct AWSParsingTests {
    func resolve(_ options: AWSOptions = AWSOptions(), _ environment: [String: String]) throws(SecretError)
        -> ResolvedAWSConfiguration
    {
        try ResolvedAWSConfiguration.resolve(options, environment: environment, homeDirectory: "/nonexistent")
    }

    @Test func aMissingProfileIsSaidBeforeAMissingRegion() {
        var options = AWSOptions()
        options.profile = "nosuchprofile"
        #expect {
            try resolve(options, [:])
        } throws: { error in
            let message = (error as? SecretError)?.message ?? ""
            return message.contains("AWS profile 'nosuchprofile' is in neither") && !message.contains("no AWS region")
        }
        #expect {
            try resolve(AWSOptions(), [:])
        } throws: { error in
            (error as? SecretError)?.message.hasPrefix("no AWS region") == true
        }
    }

    @Test func flagsWinOverEnvironment() throws {
        let environment = [
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:1/sm", "AWS_ENDPOINT_URL": "http://127.0.0.1:2",
            "AWS_PROFILE": "from-env",
        ]
        var options = AWSOptions()
        let fromEnvironment = try resolve(options, environment)
        #expect(fromEnvironment.region == "us-east-1")
        #expect(fromEnvironment.endpoint.description == "http://127.0.0.1:1/sm")
        #expect(fromEnvironment.profile == "from-env" && fromEnvironment.profileExplicit)
        #expect(fromEnvironment.timeout == .seconds(5))
        #expect(fromEnvironment.expandJSONFields == false)

        options.region = "eu-west-2"
        options.endpoint = "https://user:pass@sm.example.test:8443/base/"
        options.profile = "from-flag"
        options.prefix = "/team/app/"
        options.timeout = .seconds(9)
        let fromFlags = try resolve(options, environment)
        #expect(fromFlags.region == "eu-west-2")
        #expect(fromFlags.endpoint.description == "https://sm.example.test:8443/base")
        #expect(fromFlags.endpoint.url("/") == "https://sm.example.test:8443/base/")
        #expect(fromFlags.profile == "from-flag")
        #expect(fromFlags.prefix == ["team", "app"])
        #expect(fromFlags.timeout == .seconds(9))

        let fallback = try resolve(
            AWSOptions(), ["AWS_DEFAULT_REGION": "ap-south-1", "AWS_ENDPOINT_URL": "http://h:80"])
        #expect(fallback.region == "ap-south-1")
        #expect(fallback.endpoint.hostHeader == "h")
        #expect(fallback.profile == "default" && !fallback.profileExplicit)
        let standard = try resolve(AWSOptions(), ["AWS_REGION": "eu-north-1"])
        #expect(standard.endpoint.description == "https://secretsmanager.eu-north-1.amazonaws.com")
    }

    @Test func configurationErrorsAreOneClearSentence() {
        #expect(throws: SecretError.self) { try resolve(AWSOptions(), [:]) }
        do {
            _ = try resolve(AWSOptions(), [:])
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message.contains("region"))
        }
        var options = AWSOptions()
        options.endpoint = "ftp://example.test"
        #expect(throws: SecretError(.configuration, "AWS endpoint must start with http:// or https://")) {
            try resolve(options, ["AWS_REGION": "us-east-1"])
        }
        options.endpoint = "http://127.0.0.1:99999"
        #expect(throws: SecretError.self) { try resolve(options, ["AWS_REGION": "us-east-1"]) }
        options.endpoint = nil
        options.prefix = "a/../b"
        #expect(throws: SecretError.self) { try resolve(options, ["AWS_REGION": "us-east-1"]) }
    }

    @Test func sharedConfigSections() {
        let config = SharedConfigFiles.parse(
            """
            [default]
            region = us-west-2
            [profile dev]
            region=eu-west-1
            s3 =
              max_concurrent_requests = 20
            [sso-session corp]
            sso_region = us-east-1
            [dev]
            region = ignored
            """, profilePrefix: true)
        #expect(config["default"]?["region"] == "us-west-2")
        #expect(config["dev"]?["region"] == "eu-west-1")
        #expect(config["dev"]?["max_concurrent_requests"] == nil)
        #expect(config["corp"] == nil && config["sso-session corp"] == nil)
        let credentials = SharedConfigFiles.parse("[dev]\nAWS_ACCESS_KEY_ID = A\n", profilePrefix: false)
        #expect(credentials["dev"]?["aws_access_key_id"] == "A")
    }

    /// Credential expirations (IMDS, container, STS) go through the one RFC 3339 reader.
    @Test func timestamps() {
        #expect(Timestamp.parseRFC3339("2015-08-30T12:36:00Z") == Date(timeIntervalSince1970: 1_440_938_160))
        let fractional = Timestamp.parseRFC3339("2026-11-29T04:14:23.383071Z")
        #expect(abs((fractional?.timeIntervalSince1970 ?? 0) - 1_795_925_663.383071) < 0.000_01)
        #expect(Timestamp.parseRFC3339("2015-08-30T14:36:00+02:00") == Date(timeIntervalSince1970: 1_440_938_160))
        #expect(Timestamp.parseRFC3339("2024-02-29T00:00:00Z") == Date(timeIntervalSince1970: 1_709_164_800))
        #expect(Timestamp.parseRFC3339("not a date") == nil)
        #expect(Timestamp.parseRFC3339("2015-13-30T12:36:00Z") == nil)
        #expect(Timestamp.parseRFC3339("2015-08-30T12:36:00Zjunk") == nil)
    }

    func exchange(_ status: Int, _ body: String, headers: [(String, String)] = []) -> HTTPAnswer {
        HTTPAnswer(status: status, headerPairs: headers, body: Array(body.utf8))
    }

    @Test func errorsAreClassifiedByType() {
        func outcome(_ status: Int, _ body: String, headers: [(String, String)] = []) -> AWSErrorOutcome {
            let answer = exchange(status, body, headers: headers)
            return AWSErrorClassifier.classify(
                status: status, type: AWSErrorClassifier.errorType(answer), service: "SM", operation: "Op")
        }
        func code(_ result: AWSErrorOutcome) -> SecretError.Code? {
            if case .fail(let error) = result { return error.code }
            return nil
        }
        // moto answers 404 where AWS answers 400: the type decides.
        #expect(code(outcome(404, #"{"__type":"ResourceNotFoundException","message":"x"}"#)) == .notFound)
        #expect(
            code(outcome(400, #"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException"}"#)) == .notFound)
        #expect(code(outcome(400, #"{"__type":"AccessDeniedException"}"#)) == .permissionDenied)
        #expect(code(outcome(400, #"{"__type":"UnrecognizedClientException"}"#)) == .permissionDenied)
        #expect(code(outcome(400, #"{"__type":"InvalidSignatureException"}"#)) == .permissionDenied)
        #expect(code(outcome(400, #"{"__type":"IncompleteSignature"}"#)) == .permissionDenied)
        #expect(outcome(400, #"{"__type":"ExpiredTokenException"}"#) == .expiredCredentials)
        #expect(outcome(400, #"{"__type":"ThrottlingException"}"#) == .retry("ThrottlingException"))
        #expect(outcome(500, #"{"__type":"InternalServiceError"}"#) == .retry("InternalServiceError"))
        #expect(outcome(503, "<html>busy</html>") == .retry("HTTP 503"))
        #expect(code(outcome(400, #"{"__type":"InvalidRequestException"}"#)) == .invalidArgument)
        #expect(code(outcome(400, #"{"__type":"ResourceExistsException"}"#)) == .conflict)
        #expect(
            code(outcome(400, "{}", headers: [("x-amzn-ErrorType", "AccessDeniedException:http://x/")]))
                == .permissionDenied)
        // moto's signature check, in XML.
        let xml =
            "<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>"
            + "</Errors></ErrorResponse>"
        #expect(code(outcome(403, xml)) == .permissionDenied)
        #expect(code(outcome(403, "")) == .permissionDenied)
        #expect(code(outcome(418, "teapot")) == .malformedResponse)
    }

    @Test func classifiedErrorsNeverQuoteTheBody() {
        let body = #"{"__type":"AccessDeniedException","message":"planted-message-ff66"}"#
        let result = AWSErrorClassifier.classify(
            status: 400, type: AWSErrorClassifier.errorType(exchange(400, body)), service: "SM", operation: "Op")
        guard case .fail(let error) = result else {
            Issue.record("denied is a failure")
            return
        }
        #expect(!error.description.contains("planted-message-ff66"))
    }

    @Test func xmlFields() {
        let body = Array("<A><AccessKeyId>ASIA1</AccessKeyId><SessionToken>a&amp;b+/=</SessionToken></A>".utf8)
        #expect(XMLFields.first("AccessKeyId", in: body) == "ASIA1")
        #expect(XMLFields.first("SessionToken", in: body) == "a&b+/=")
        #expect(XMLFields.first("Missing", in: body) == nil)
    }

    @Test func contentDecoding() throws {
        #expect(AWSSecretStore.flatStringObject(#" {"a":"1","b":"2"}"#) == ["a": "1", "b": "2"])
        #expect(AWSSecretStore.flatStringObject(#"{"a":1}"#) == nil)
        #expect(AWSSecretStore.flatStringObject("{}") == nil)
        #expect(AWSSecretStore.flatStringObject("[\"a\"]") == nil)
        #expect(AWSSecretStore.flatStringObject("plain") == nil)

        let (text, noBinary) = try AWSSecretStore.encode(.value(SecretValue(string: "héllo")))
        #expect(text == "héllo" && noBinary == nil)
        let (noText, binary) = try AWSSecretStore.encode(.value(SecretValue(bytes: [0xff, 0x00])))
        #expect(noText == nil && binary == "/wA=")
        let (json, _) = try AWSSecretStore.encode(
            .fields(["b": SecretValue(string: "2/"), "a": SecretValue(string: "1")]))
        #expect(json == #"{"a":"1","b":"2/"}"#)
        #expect(throws: SecretError.self) { try AWSSecretStore.encode(.fields(["a": SecretValue(bytes: [0xff])])) }
    }

    @Test func endpointParsing() throws {
        let plain = try Endpoint(parsing: "http://127.0.0.1:5000", what: "e")
        #expect(plain.hostHeader == "127.0.0.1:5000" && plain.url("/") == "http://127.0.0.1:5000/")
        let https = try Endpoint(parsing: "HTTPS://SM.Example.test:443/", what: "e")
        #expect(https.hostHeader == "sm.example.test" && https.requestPath("/") == "/")
        let ipv6 = try Endpoint(parsing: "http://[::1]:8080/x", what: "e")
        #expect(ipv6.hostHeader == "[::1]:8080" && ipv6.requestPath("/") == "/x/")
        #expect(throws: SecretError.self) { try Endpoint(parsing: "http://", what: "e") }
        #expect(throws: SecretError.self) { try Endpoint(parsing: "127.0.0.1:5000", what: "e") }
    }
}
