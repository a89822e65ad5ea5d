import Foundation
import SecretsCore
import Synchronization

/// How one rotation through `.rotate` ended. The log line prints `ok` or `error: <kind>`.
enum RotationOutcome: Sendable, Equatable, Encodable, CustomStringConvertible {
    case ok
    case failed(SecretError.Code)

    /// What `.status` and `.metrics` count rotations by.
    enum Total: String, Sendable, CaseIterable {
        case ok, error
    }

    var total: Total {
        if case .ok = self { return .ok }
        return .error
    }

    var description: String {
        switch self {
        case .ok: return "ok"
        case .failed(let code): return "error: \(code)"
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The recent rotations that reading a `.rotate` file shows: one JSON line each, never a value.
final class RotationLog: Sendable {
    struct Record: Sendable, Encodable {
        var time: String
        var path: String
        var field: String?
        var oldVersion: String?
        var newVersion: String?
        var outcome: RotationOutcome

        enum CodingKeys: String, CodingKey {
            case time, path, field, outcome
            case oldVersion = "old_version"
            case newVersion = "new_version"
        }
    }

    private static let limit = 200
    private let records = Mutex<[(SecretPath, Record)]>([])
    private let totals = Mutex<[RotationOutcome.Total: Int]>([:])

    func append(
        path: SecretPath, field: String?, old: String?, new: String?, outcome: RotationOutcome, at time: Date
    ) {
        let record = Record(
            time: Timestamp.iso8601(time), path: path.string, field: field, oldVersion: old,
            newVersion: new, outcome: outcome)
        totals.withLock { $0[outcome.total, default: 0] += 1 }
        records.withLock { records in
            records.append((path, record))
            if records.count > Self.limit { records.removeFirst(records.count - Self.limit) }
        }
    }

    /// The lines for rotations under `folder`, oldest first.
    func lines(under folder: SecretPath) -> [UInt8] {
        JSONLines.lines(records.withLock { $0.filter { $0.0.hasPrefix(folder) }.map(\.1) })
    }

    /// Rotations since the mount started, by how they ended; an outcome not seen yet is absent.
    func counts() -> [RotationOutcome.Total: Int] { totals.withLock { $0 } }
}
