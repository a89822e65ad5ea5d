import ArgumentParser
import Foundation
import SecretsCore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a mount's .status in words.")

    @Argument(help: "The mountpoint.") var mountpoint: String
    @Flag(help: "Print the JSON as it is.") var json = false

    func run() async throws {
        let path = (mountpoint as NSString).appendingPathComponent(".status")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretError(.notFound, "\(mountpoint) is not a secretsfs mount (no readable .status)")
        }
        if json {
            printLine(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            return
        }
        guard let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SecretError(.malformedResponse, "\(path) is not JSON")
        }
        for line in StatusSummary.lines(status) { printLine(line) }
    }
}

enum StatusSummary {
    static func lines(_ status: [String: Any]) -> [String] {
        let cache = status["cache"] as? [String: Any] ?? [:]
        func number(_ value: Any?) -> String { value.map { "\($0)" } ?? "-" }
        let healthy = (status["healthy"] as? Bool) == true
        var lines = [
            "backend:    \(status["backend"] ?? "?") \(status["address"] ?? "")",
            "health:     \(healthy ? "healthy" : "UNHEALTHY") \(status["health_detail"] ?? "")",
            "uptime:     \(formatUptime(status["uptime_seconds"] as? Double ?? 0))",
        ]
        lines += (status["warnings"] as? [String] ?? []).map { "warning:    \($0)" }
        lines += [
            "cache:      \(number(cache["entries"])) entries, \(number(cache["hits"])) hits, \(number(cache["misses"])) misses, "
                + "hit rate \(String(format: "%.1f%%", (cache["hit_rate"] as? Double ?? 0) * 100))",
            "stale:      \(number(cache["stale_serves"])) served stale; breaker \(cache["breaker_state"] ?? "closed")",
            "backend:    \(number(cache["backend_calls"])) calls",
        ]
        let errors = status["errors_by_kind"] as? [String: Any] ?? [:]
        lines.append(
            "errors:     "
                + (errors.isEmpty
                    ? "none"
                    : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        for error in (status["last_errors"] as? [[String: Any]] ?? []).suffix(5) {
            lines.append("  \(error["time"] ?? "") \(error["kind"] ?? "") \(error["path"] ?? "")")
        }
        for certificate in status["certificates"] as? [[String: Any]] ?? [] {
            let shown =
                certificate["serial"] == nil
                ? "not issued: \(certificate["problem"] ?? "not yet")"
                : "serial \(certificate["serial"] ?? "") expires \(certificate["expires_at"] ?? "")"
            lines.append("cert:       \(certificate["path"] ?? "?") \(shown)")
        }
        return lines
    }

    static func formatUptime(_ seconds: Double) -> String {
        let total = Int(seconds)
        return String(format: "%dh%02dm%02ds", total / 3600, total / 60 % 60, total % 60)
    }
}
