/// The Secrets Manager JSON shapes this backend sends and reads. Optional everywhere AWS may omit a
/// field or send `null`; what the store cannot do without is checked where it is used.
enum SM {
    struct SecretID: Encodable, Sendable {
        var SecretId: String
    }

    struct GetSecretValue: Encodable, Sendable {
        var SecretId: String
        var VersionId: String?
        var VersionStage: String?
    }

    struct SecretValueAnswer: Decodable, Sendable {
        var Name: String?
        var VersionId: String?
        var SecretString: String?
        var SecretBinary: String?
        var CreatedDate: Double?
        var VersionStages: [String]?
    }

    struct Filter: Encodable, Sendable {
        var Key: String
        var Values: [String]
    }

    struct ListSecrets: Encodable, Sendable {
        var MaxResults: Int
        var NextToken: String?
        var Filters: [Filter]?
    }

    struct ListSecretsAnswer: Decodable, Sendable {
        struct Entry: Decodable, Sendable {
            var Name: String?
        }
        var SecretList: [Entry]?
        var NextToken: String?
    }

    struct DescribeAnswer: Decodable, Sendable {
        var Name: String?
        var RotationEnabled: Bool?
        var VersionIdsToStages: [String: [String]]?
    }

    struct ListVersions: Encodable, Sendable {
        var SecretId: String
        var MaxResults: Int
        var NextToken: String?
        var IncludeDeprecated: Bool
    }

    struct ListVersionsAnswer: Decodable, Sendable {
        struct Version: Decodable, Sendable {
            var VersionId: String?
            var VersionStages: [String]?
            var CreatedDate: Double?
        }
        var Versions: [Version]?
        var NextToken: String?
    }

    /// PutSecretValue, and CreateSecret with `Name` instead of `SecretId`.
    struct WriteValue: Encodable, Sendable {
        var SecretId: String?
        var Name: String?
        var ClientRequestToken: String
        var SecretString: String?
        var SecretBinary: String?
    }

    struct VersionAnswer: Decodable, Sendable {
        var VersionId: String?
    }

    struct GetRandomPassword: Encodable, Sendable {
        var PasswordLength: Int
        var ExcludePunctuation: Bool
    }

    struct RandomPasswordAnswer: Decodable, Sendable {
        var RandomPassword: String?
    }

    struct RotationRules: Encodable, Sendable {
        var AutomaticallyAfterDays: Int?
        var ScheduleExpression: String?
    }

    struct RotateSecret: Encodable, Sendable {
        var SecretId: String
        var ClientRequestToken: String
        var RotationLambdaARN: String?
        var RotationRules: RotationRules?
        var RotateImmediately: Bool?
    }

    struct Empty: Decodable, Sendable {}
}

extension SM {
    struct BatchGetSecretValue: Encodable, Sendable {
        var SecretIdList: [String]
        var NextToken: String?
    }

    struct BatchAnswer: Decodable, Sendable {
        struct Failure: Decodable, Sendable {
            var SecretId: String?
            var ErrorCode: String?
        }
        var SecretValues: [SecretValueAnswer]?
        var Errors: [Failure]?
        var NextToken: String?
    }

    /// A `ListSecrets` entry with what tells a change: the version ids per staging label.
    struct VersionedEntry: Decodable, Sendable {
        var Name: String?
        var LastChangedDate: Double?
        var SecretVersionsToStages: [String: [String]]?
    }

    struct VersionedListAnswer: Decodable, Sendable {
        var SecretList: [VersionedEntry]?
        var NextToken: String?
    }
}
