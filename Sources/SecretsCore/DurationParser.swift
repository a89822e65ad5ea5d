/// Durations as users write them on the command line and in config: `30`, `30s`, `5m`, `24h`,
/// `7d`, `250ms`. A bare number is seconds.
public enum DurationParser {
    public static func parse(_ text: String) throws(SecretError) -> Duration {
        let trimmed = text.trimmingCharacters(in: " \t")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var number = Substring(trimmed)
        var scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let candidate = trimmed.dropLast(suffix.count)
            if Double(candidate) != nil {
                number = candidate
                scale = factor
                break
            }
        }
        guard let value = Double(number), value.isFinite, value >= 0, !number.isEmpty,
            number.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw SecretError(.invalidArgument, "'\(text)' is not a duration (try 30, 30s, 5m, 24h)")
        }
        let milliseconds = (value * scale * 1000).rounded()
        guard milliseconds < Double(Int64.max / 1000) else {
            throw SecretError(.invalidArgument, "'\(text)' is too long a duration")
        }
        return .milliseconds(Int64(milliseconds))
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
