import Foundation

/// The one spelling of the JSON lines the mount writes (the audit log, `.rotate`'s history,
/// `.events`): keys sorted and slashes plain, so a line is the same bytes whichever writes it.
enum JSONLines {
    static func line(_ record: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings, numbers and nulls always encode.
        return Array((try? encoder.encode(record)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }

    static func lines(_ records: some Sequence<some Encodable>) -> [UInt8] {
        records.reduce(into: []) { $0 += line($1) }
    }
}
