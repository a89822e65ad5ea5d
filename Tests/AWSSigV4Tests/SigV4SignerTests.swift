import AWSSigV4
import Foundation
import Testing

/// The published AWS SigV4 test suite (get-vanilla, post-vanilla and a query case) and one Secrets
/// Manager request pinned after cross-checking with botocore.
@Suite struct SigV4SignerTests {
    static let suiteCredentials = SigV4Credentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let suiteSigner = SigV4Signer(region: "us-east-1", service: "service")
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test func getVanilla() {
        let request = SigV4Request(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")])
        let signed = Self.suiteSigner.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + Self.emptyHash)
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signed.headers.map(\.name) == ["X-Amz-Date", "Authorization"])
        #expect(signed.headers.first?.value == "20150830T123600Z")
    }

    @Test func postVanilla() {
        let request = SigV4Request(method: "POST", path: "/", headers: [("Host", "example.amazonaws.com")])
        let signed = Self.suiteSigner.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                + Self.emptyHash)
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    /// get-vanilla-query-order-key-case: the query is sorted by name before signing.
    @Test func queryIsSorted() {
        let request = SigV4Request(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com")])
        let signed = Self.suiteSigner.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
                == "Param1=value1&Param2=value2")
        #expect(signed.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    /// A Secrets Manager JSON 1.1 call with temporary credentials. Pinned after computing the same
    /// request with botocore 1.43's `SigV4Auth(Credentials(AKIDEXAMPLE, ..., "session-token-example"),
    /// "secretsmanager", "eu-west-1")` in python3, `botocore.auth.get_current_datetime` patched to
    /// 2015-08-30T12:36:00: botocore printed this canonical request, string to sign and Authorization.
    @Test func secretsManagerPost() {
        let body = Array(#"{"SecretId":"openai/api_key","VersionStage":"AWSCURRENT"}"#.utf8)
        let request = SigV4Request(
            method: "POST", path: "/",
            headers: [
                ("Host", "secretsmanager.eu-west-1.amazonaws.com"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", "secretsmanager.GetSecretValue"),
            ],
            body: body)
        var credentials = Self.suiteCredentials
        credentials.sessionToken = "session-token-example"
        let signer = SigV4Signer(region: "eu-west-1", service: "secretsmanager")
        let signed = signer.sign(request, credentials: credentials, date: Self.suiteDate)
        #expect(
            signed.canonicalRequest
                == "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:secretsmanager.eu-west-1.amazonaws.com\n"
                + "x-amz-date:20150830T123600Z\nx-amz-security-token:session-token-example\n"
                + "x-amz-target:secretsmanager.GetSecretValue\n\n"
                + "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
                + "c13db816a7a3d89369d602203f68b7b0ae500779e5a658bdd8ac418987eb1ae1")
        #expect(
            signed.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/eu-west-1/secretsmanager/aws4_request\n"
                + "4ceddb6d5c008e0cfd8e4934d3e49fe89b9bfa2a50e9e144216bdbec9f74665d")
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/secretsmanager/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                + "Signature=073028aa92f409f0f505dbe03bb8bd5e849e77943484ed2d45f97b0cdbec24e1")
        #expect(signed.headers.contains { $0.name == "X-Amz-Security-Token" && $0.value == "session-token-example" })
    }

    @Test func callerCopiesOfSignerHeadersAreReplaced() {
        let request = SigV4Request(
            method: "GET", path: "/",
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "19990101T000000Z"), ("Authorization", "x")])
        let signed = Self.suiteSigner.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func contentHashHeaderWhenAsked() {
        let signer = SigV4Signer(region: "us-east-1", service: "service", addsContentHashHeader: true)
        let request = SigV4Request(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")])
        let signed = signer.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(signed.signedHeaders == "host;x-amz-content-sha256;x-amz-date")
        #expect(signed.headers.contains { $0.name == "X-Amz-Content-Sha256" && $0.value == Self.emptyHash })
    }

    @Test func headerValuesAreTrimmedAndMerged() {
        let request = SigV4Request(
            method: "GET", path: "/",
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", "  a   b  "), ("my-header1", "c")])
        let signed = Self.suiteSigner.sign(request, credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(signed.canonicalRequest.contains("\nmy-header1:a b,c\n"))
        #expect(signed.signedHeaders == "host;my-header1;x-amz-date")
    }

    @Test func uriEncoding() {
        #expect(SigV4Encoding.uriEncode("a b/c~d_e.f-g*") == "a%20b%2Fc~d_e.f-g%2A")
        #expect(SigV4Encoding.uriEncode("/a b/c", keepSlash: true) == "/a%20b/c")
        #expect(SigV4Encoding.uriEncode("é") == "%C3%A9")
        // A path already encoded on the wire is encoded once more for every service but S3.
        let signer = SigV4Signer(region: "us-east-1", service: "service")
        let signed = signer.sign(
            SigV4Request(method: "GET", path: "/a%20b", headers: [("Host", "h")]),
            credentials: Self.suiteCredentials, date: Self.suiteDate)
        #expect(signed.canonicalRequest.hasPrefix("GET\n/a%2520b\n"))
    }

    @Test func amzDates() {
        #expect(SigV4Encoding.amzDate(Self.suiteDate) == ("20150830T123600Z", "20150830"))
        #expect(SigV4Encoding.amzDate(Date(timeIntervalSince1970: 0)) == ("19700101T000000Z", "19700101"))
        // A leap day, and fractions of a second are dropped, not rounded up.
        #expect(SigV4Encoding.amzDate(Date(timeIntervalSince1970: 1_709_164_799.9)) == ("20240228T235959Z", "20240228"))
        #expect(SigV4Encoding.amzDate(Date(timeIntervalSince1970: 1_709_251_199)) == ("20240229T235959Z", "20240229"))
    }

    @Test func credentialsNeverPrintTheSecret() {
        var credentials = Self.suiteCredentials
        credentials.sessionToken = "session-token-example"
        for text in [
            "\(credentials)", String(reflecting: credentials),
            String(describing: Mirror(reflecting: credentials).children.map(\.value)),
        ] {
            #expect(!text.contains("wJalrXUtnFEMI"))
            #expect(!text.contains("session-token-example"))
        }
    }
}
