import Foundation
import SecretsCore

extension AWSSecretStore {
    /// Rotation with an explicit ClientRequestToken. Running it again with the same token (a retry
    /// after a lost answer) finds the version already made and makes no second one.
    ///
    /// Where the secret has rotation configured, its Lambda makes the value (`RotateSecret`). Otherwise
    /// the new value comes from `GetRandomPassword` (`request.length` letters and digits, as DESIGN 1.5 asks), not
    /// from `request.generate`, and is written with `PutSecretValue`, which moves the old value to
    /// AWSPREVIOUS.
    func rotate(_ request: RotationRequest, token: String) async throws -> RotationResult {
        try await atPath(request.path) {
            let name = try awsName(request.path)
            let described = try await client.call(
                "DescribeSecret", SM.SecretID(SecretId: name), as: SM.DescribeAnswer.self)
            let stages = described.VersionIdsToStages ?? [:]
            let currentID = stages.first { $0.value.contains(Self.currentStage) }?.key
            if stages[token] != nil {
                let previousID = stages.first { $0.value.contains(Self.previousStage) }?.key
                logger.info("rotation already done; not repeated", metadata: ["path": "\(request.path)"])
                return RotationResult(
                    path: request.path, field: request.field, oldVersion: currentID == token ? previousID : currentID,
                    newVersion: token)
            }

            if described.RotationEnabled == true {
                let answer = try await client.call(
                    "RotateSecret", SM.RotateSecret(SecretId: name, ClientRequestToken: token),
                    as: SM.VersionAnswer.self)
                return RotationResult(
                    path: request.path, field: request.field, oldVersion: currentID,
                    newVersion: answer.VersionId.nonEmpty ?? token)
            }

            let current = try await client.call(
                "GetSecretValue", SM.GetSecretValue(SecretId: name, VersionStage: Self.currentStage),
                as: SM.SecretValueAnswer.self)
            // A field can only be rotated in a JSON object, whether or not the mount expands them.
            let content = try content(of: current, expand: expandJSONFields || request.field != nil)
            let password = try await client.call(
                "GetRandomPassword", SM.GetRandomPassword(PasswordLength: request.length, ExcludePunctuation: true),
                as: SM.RandomPasswordAnswer.self)
            guard let random = password.RandomPassword, !random.isEmpty else {
                throw SecretError(.malformedResponse, "Secrets Manager GetRandomPassword answer has no password")
            }
            let rotated = try content.rotated(field: request.field, to: SecretValue(string: random))
            let (string, binary) = try Self.encode(rotated)
            let answer = try await client.call(
                "PutSecretValue",
                SM.WriteValue(SecretId: name, ClientRequestToken: token, SecretString: string, SecretBinary: binary),
                as: SM.VersionAnswer.self)
            return RotationResult(
                path: request.path, field: request.field, oldVersion: current.VersionId ?? currentID,
                newVersion: answer.VersionId.nonEmpty ?? token)
        }
    }

    /// `put --rotate-every 30d --rotation-lambda ARN`: hands rotation of `path` to a Lambda on a
    /// schedule, without rotating now (the value was just written). Whole days (1 to 1000) become
    /// `AutomaticallyAfterDays`; whole hours from 4 to 23 become `rate(N hours)`.
    public func setRotationSchedule(_ path: SecretPath, every: Duration, lambdaARN: String) async throws {
        let seconds = every.components.seconds
        var rules = SM.RotationRules()
        if seconds % 86_400 == 0, (1...1000).contains(seconds / 86_400), every.components.attoseconds == 0 {
            rules.AutomaticallyAfterDays = Int(seconds / 86_400)
        } else if seconds % 3600 == 0, (4...23).contains(seconds / 3600), every.components.attoseconds == 0 {
            rules.ScheduleExpression = "rate(\(seconds / 3600) hours)"
        } else {
            throw SecretError(
                .invalidArgument, "a rotation interval must be whole days (1 to 1000) or whole hours (4 to 23)",
                path: path)
        }
        guard lambdaARN.hasPrefix("arn:") else {
            throw SecretError(.invalidArgument, "the rotation Lambda must be given as an ARN", path: path)
        }
        try await atPath(path) {
            _ = try await client.call(
                "RotateSecret",
                SM.RotateSecret(
                    SecretId: try awsName(path), ClientRequestToken: UUID().uuidString.lowercased(),
                    RotationLambdaARN: lambdaARN, RotationRules: rules, RotateImmediately: false),
                as: SM.VersionAnswer.self)
        }
    }
}
