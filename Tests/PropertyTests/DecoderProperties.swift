import Foundation
import PropertyBased
import SecretsCore
import SecretsHTTP
import Testing

@testable import SecretsBackendAWS
@testable import SecretsBackendVault

/// What the backends make of their servers' answers: random bytes, garbled copies of real answers and
/// random JSON over the keys the decoders look for. Always a value or a clean SecretError, never a
/// crash, and an error never quotes the body (it may hold a secret).
@Suite(.timeLimit(.minutes(1))) struct VaultDecoderProperties {
    static let keys = [
        "data", "metadata", "version", "created_time", "deletion_time", "destroyed", "keys", "versions",
        "current_version", "auth", "client_token", "lease_duration", "renewable", "ttl", "id", "errors", "value",
        VaultKV.base64FieldsKey, "1", "2", "password", "certificate", "private_key", "issuing_ca", "ca_chain",
        "serial_number", "expiration",
    ]

    static let answers = [
        #"{"data":{"data":{"value":"PLANTED-c0ffee"},"metadata":{"version":3,"created_time":"2024-01-02T03:04:05.123456789Z","deletion_time":"","destroyed":false}}}"#,
        #"{"data":{"data":{"user":"PLANTED-c0ffee","port":5432,".secretsfs-base64":["blob"],"blob":"AAEC"},"metadata":{"version":"7"}}}"#,
        #"{"data":{"data":null,"metadata":{"version":2,"deletion_time":"2024-01-02T03:04:05Z","destroyed":false}}}"#,
        #"{"data":{"current_version":2,"versions":{"1":{"created_time":"2024-01-02T03:04:05Z","deletion_time":"","destroyed":false},"2":{"created_time":"2024-01-03T03:04:05Z","deletion_time":"","destroyed":true}}}}"#,
        #"{"data":{"keys":["a","b/","PLANTED-c0ffee"]}}"#,
        #"{"data":{"version":4,"created_time":"2024-01-02T03:04:05.1Z"}}"#,
        #"{"auth":{"client_token":"PLANTED-c0ffee","lease_duration":3600,"renewable":true}}"#,
        #"{"data":{"ttl":100,"renewable":true,"id":"PLANTED-c0ffee"}}"#,
        #"{"errors":["check-and-set parameter did not match the current version"]}"#,
        #"{"data":{"certificate":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----","private_key":"PLANTED-c0ffee","issuing_ca":"ca","ca_chain":["ca"],"serial_number":"4a:2b","expiration":1800000000}}"#,
    ]

    static let decoders: [(String, @Sendable ([UInt8]) throws -> Void)] = [
        ("dataRead", { _ = try VaultKV.dataRead($0, "the read of a") }),
        ("metadata", { _ = try VaultKV.metadata($0, "the versions of a") }),
        ("keys", { _ = try VaultKV.keys($0, "the listing of a") }),
        ("written", { _ = try VaultKV.written($0, "the write of a") }),
        ("login", { _ = try VaultKV.login($0, "the login") }),
        ("lookup", { _ = try VaultKV.lookup($0, "token lookup-self") }),
        ("errors", { _ = VaultKV.errors($0) }),
        ("certificate", { _ = try VaultCertificates.decode($0, "the certificate issue", issuedAt: Date()) }),
    ]

    static func decodeAll(_ body: [UInt8]) {
        for (name, decode) in decoders {
            do {
                try decode(body)
            } catch let error as SecretError {
                #expect(error.code == .malformedResponse, "\(name): \(error.code)")
                #expect(!error.message.contains(Fuzz.planted), "\(name) quoted the body")
            } catch {
                Issue.record("\(name) threw something other than a SecretError: \(type(of: error))")
            }
        }
    }

    @Test func randomBytes() async {
        await propertyCheck(count: 1500, input: Fuzz.bytes(0...200)) { Self.decodeAll($0) }
    }

    @Test func garbledAnswers() async {
        await propertyCheck(count: 3000, input: Fuzz.garbled(Self.answers)) { Self.decodeAll($0) }
    }

    @Test func randomJSONOverVaultKeys() async {
        await propertyCheck(count: 3000, input: Fuzz.jsonDocuments(keys: Self.keys)) { Self.decodeAll($0) }
    }

    @Test func realAnswersDecode() throws {
        let read = try VaultKV.dataRead(Array(Self.answers[0].utf8), "the read of a")
        #expect(read.version.number == 3)
        #expect(read.fields?.values["value"] == SecretValue(string: Fuzz.planted))
        let fields = try VaultKV.dataRead(Array(Self.answers[1].utf8), "the read of a").fields
        #expect(fields?.values["blob"]?.copyBytes() == [0, 1, 2])
        #expect(fields?.values["port"]?.utf8String() == "5432")
        #expect(try VaultKV.metadata(Array(Self.answers[3].utf8), "v").readable.map(\.number) == [1])
        let issued = try VaultCertificates.decode(Array(Self.answers[9].utf8), "the issue", issuedAt: Date())
        #expect(issued.serial == "4a:2b" && issued.expiresAt == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(issued.files["private_key"]?.utf8String() == Fuzz.planted + "\n")
        #expect(issued.files["full_chain"]?.utf8String()?.hasSuffix("-----END CERTIFICATE-----\nca\n") == true)
    }

    @Test func randomTimestampsNeverCrash() async {
        let pieces = ["2024", "-", "01", "T", "12", ":", "00", ".", "123456789", "Z", "+", "05", "z", "99", " "]
        await propertyCheck(count: 2000, input: Fuzz.strings(from: pieces, length: 0...12)) { text in
            _ = VaultKV.date(text)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct AWSDecoderProperties {
    static let keys = [
        "Name", "VersionId", "SecretString", "SecretBinary", "CreatedDate", "VersionStages", "SecretList",
        "NextToken", "Versions", "RotationEnabled", "VersionIdsToStages", "RandomPassword", "AccessKeyId",
        "SecretAccessKey", "Token", "Expiration", "Code", "__type", "message", "code",
    ]

    static let answers = [
        #"{"Name":"a/b","VersionId":"01234567-89ab-cdef-0123-456789abcdef","SecretString":"PLANTED-c0ffee","CreatedDate":1.7e9,"VersionStages":["AWSCURRENT"]}"#,
        #"{"Name":"a","VersionId":"v","SecretBinary":"AAEC","CreatedDate":null}"#,
        #"{"SecretList":[{"Name":"a/b"},{"Name":null}],"NextToken":"t"}"#,
        #"{"Name":"a","RotationEnabled":false,"VersionIdsToStages":{"v1":["AWSCURRENT"],"v2":["AWSPREVIOUS"]}}"#,
        #"{"Versions":[{"VersionId":"v1","VersionStages":["AWSCURRENT"],"CreatedDate":1700000000.5}],"NextToken":null}"#,
        #"{"RandomPassword":"PLANTED-c0ffee"}"#,
        #"{"Code":"Success","AccessKeyId":"AKIA","SecretAccessKey":"PLANTED-c0ffee","Token":"PLANTED-c0ffee","Expiration":"2030-01-02T03:04:05Z"}"#,
        #"{"__type":"com.amazonaws#ResourceNotFoundException","message":"PLANTED-c0ffee"}"#,
    ]

    static func decodeAll(_ body: [UInt8]) {
        let data = Data(body)
        let decoder = JSONDecoder()
        _ = try? decoder.decode(SM.SecretValueAnswer.self, from: data)
        _ = try? decoder.decode(SM.ListSecretsAnswer.self, from: data)
        _ = try? decoder.decode(SM.DescribeAnswer.self, from: data)
        _ = try? decoder.decode(SM.ListVersionsAnswer.self, from: data)
        _ = try? decoder.decode(SM.VersionAnswer.self, from: data)
        _ = try? decoder.decode(SM.RandomPasswordAnswer.self, from: data)
        _ = try? decoder.decode(SM.Empty.self, from: data)

        do {
            _ = try CredentialsDocument.credentials(from: body, source: "the container endpoint")
        } catch {
            #expect(error.code == .malformedResponse || error.code == .unavailable)
            // Only the `Code` field (a status word, not a credential) is ever named.
            if error.code == .malformedResponse { #expect(!error.message.contains(Fuzz.planted)) }
        }

        for status in [400, 403, 404, 429, 500, 503] {
            let exchange = HTTPAnswer(status: status, headerPairs: [], body: body)
            let type = AWSErrorClassifier.errorType(exchange)
            switch AWSErrorClassifier.classify(status: status, type: type, service: "Secrets Manager", operation: "Get")
            {
            case .fail(let error):
                #expect(!error.message.contains(Fuzz.planted) || type?.contains(Fuzz.planted) == true)
            case .retry, .expiredCredentials:
                break
            }
        }
        _ = XMLFields.first("Code", in: body)
        let text = String(decoding: body, as: UTF8.self)
        if let fields = AWSSecretStore.flatStringObject(text) { #expect(!fields.isEmpty) }
        _ = SharedConfigFiles.parse(text, profilePrefix: true)
        _ = SharedConfigFiles.parse(text, profilePrefix: false)
    }

    @Test func randomBytes() async {
        await propertyCheck(count: 1500, input: Fuzz.bytes(0...200)) { Self.decodeAll($0) }
    }

    @Test func garbledAnswers() async {
        await propertyCheck(count: 3000, input: Fuzz.garbled(Self.answers)) { Self.decodeAll($0) }
    }

    @Test func randomJSONOverAWSKeys() async {
        await propertyCheck(count: 3000, input: Fuzz.jsonDocuments(keys: Self.keys)) { Self.decodeAll($0) }
    }

    @Test func xmlAndIniLikeText() async {
        let pieces = [
            "<Code>", "</Code>", "<Error>", "&amp;", "&lt;", "&#65;", "&", "<", ">", "[default]", "[profile x]",
            "[", "]", "=", "\n", " ", "\t", "#", ";", "aws_access_key_id", Fuzz.planted,
        ]
        await propertyCheck(count: 2000, input: Fuzz.strings(from: pieces, length: 0...16)) { text in
            Self.decodeAll(Array(text.utf8))
        }
    }

    @Test func realAnswersDecode() throws {
        let answer = try JSONDecoder().decode(SM.SecretValueAnswer.self, from: Data(Self.answers[0].utf8))
        #expect(answer.SecretString == Fuzz.planted)
        #expect(answer.VersionStages == ["AWSCURRENT"])
        let credentials = try CredentialsDocument.credentials(from: Array(Self.answers[6].utf8), source: "test")
        #expect(credentials.expiration != nil)
        let exchange = HTTPAnswer(status: 404, headerPairs: [], body: Array(Self.answers[7].utf8))
        #expect(AWSErrorClassifier.errorType(exchange) == "ResourceNotFoundException")
    }
}
