import Foundation

/// The JSON 1.1 shapes of the SSM actions the Parameter Store backend sends and reads. Values are
/// Strings because SSM sends them as JSON strings; they are moved into `SecretValue`s at once.
enum SSM {
    struct GetParameter: Encodable {
        var Name: String
        var WithDecryption = true
    }

    struct Parameter: Decodable {
        var Name: String?
        var `Type`: String?
        var Value: String?
        var Version: Int?
        var LastModifiedDate: Double?
        var Labels: [String]?
        var KeyId: String?
    }

    struct ParameterAnswer: Decodable {
        var Parameter: Parameter?
    }

    struct GetParametersByPath: Encodable {
        var Path: String
        var Recursive = true
        // Names are all a plain listing needs; `listWithCurrent` asks for the values too.
        var WithDecryption = false
        var MaxResults: Int
        var NextToken: String?

        init(Path: String, WithDecryption: Bool = false, MaxResults: Int, NextToken: String?) {
            self.Path = Path
            self.WithDecryption = WithDecryption
            self.MaxResults = MaxResults
            self.NextToken = NextToken
        }
    }

    struct GetParameterHistory: Encodable {
        var Name: String
        var WithDecryption = false
        var MaxResults: Int
        var NextToken: String?
    }

    struct ParametersAnswer: Decodable {
        var Parameters: [Parameter]?
        var NextToken: String?
    }

    struct DescribeParameters: Encodable {
        struct Filter: Encodable {
            var Key: String
            var Option: String
            var Values: [String]
        }
        var ParameterFilters: [Filter]?
        var MaxResults: Int
    }

    struct PutParameter: Encodable {
        var Name: String
        var Value: String
        var `Type`: String
        var Overwrite = true
        var KeyId: String?
    }

    struct PutAnswer: Decodable {
        var Version: Int?
    }
}

extension SSM {
    struct GetParameters: Encodable {
        var Names: [String]
        var WithDecryption = true
    }

    struct ParametersByNameAnswer: Decodable {
        var Parameters: [Parameter]?
        var InvalidParameters: [String]?
    }
}
