import Logging
import SecretsTime
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one line per event to stderr, as text or JSON. Values never reach it: `SecretValue`
/// prints as its length, and nothing logs a value on purpose. Foundation-free, as the supervisor
/// that uses it is.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    private static let lock = Mutex(())

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format

    public init(label: String, level: Logger.Level, format: Format) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Self.line(
            time: ISO8601.now(), level: "\(event.level)", label: label, message: "\(event.message)",
            metadata: merged.mapValues { "\($0)" }, format: format)
        let bytes = Array((line + "\n").utf8)
        Self.lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break }
                offset += written
            }
        }
    }

    /// One event as its line, without the newline.
    static func line(
        time: String, level: String, label: String, message: String, metadata: [String: String], format: Format
    ) -> String {
        switch format {
        case .text:
            let fields = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\(quoted($0.value))" }
            return ([time, level, "\(label):", message] + fields).joined(separator: " ")
        case .json:
            var object = ["time": time, "level": level, "message": message]
            for (key, value) in metadata where object[key] == nil { object[key] = value }
            let members = object.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        return "\"" + value.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\\"") + "\""
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
