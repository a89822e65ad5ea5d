import Foundation
import SecretsFileSystem

/// What one operation answered, in a form a table can state. Its description gives the length of
/// bytes and text, never them: a failing test prints no secret.
enum CaseOutcome: Sendable, Equatable, CustomStringConvertible {
    case failed(Int32)
    case attributes(NodeAttributes)
    case names([String])
    case bytes([UInt8])
    case text(String)
    case count(Int)
    case done

    var description: String {
        switch self {
        case .failed(let errno): return "errno \(errno)"
        case .attributes(let attributes): return "attributes \(attributes)"
        case .names(let names): return "\(names.count) names"
        case .bytes(let bytes): return "\(bytes.count) bytes"
        case .text(let text): return "\(text.utf8.count) bytes of text"
        case .count(let count): return "count \(count)"
        case .done: return "done"
        }
    }
}

/// What a node's `stat` must show; nil fields are not checked.
struct StatShape: Sendable {
    var type: NodeType
    var mode: UInt16
    var size: Int?
    var uid: UInt32?
    var gid: UInt32?
    /// Seconds since 1970.
    var modified: Double?
}

/// The answer a step must give.
indirect enum CaseExpectation: Sendable {
    case errno(Int32)
    /// The bytes read, exactly.
    case bytes([UInt8])
    /// The bytes read or the link's target, exactly, as UTF-8.
    case text(String)
    /// The whole of the bytes or the target matches this regular expression.
    case matches(String)
    /// A listing's names, in order, `.` and `..` included; or the xattr names.
    case names([String])
    case stat(StatShape)
    case count(Int)
    /// One JSON document.
    case json([JSONCheck])
    /// JSON lines, one list of checks per line; the count of lines must match.
    case jsonLines([[JSONCheck]])
    /// Prometheus text format, each named sample in its range.
    case prometheus([String: ClosedRange<Double>])
    /// No value the store was given, nor any value read earlier in the case, appears in the answer.
    case lacksValues
    case sameInode(as: String)
    case succeeds
    case all([CaseExpectation])

    static let empty = CaseExpectation.bytes([])

    static func file(
        _ mode: UInt16, size: Int? = nil, uid: UInt32? = 7, gid: UInt32? = 8, modified: Double? = nil
    ) -> CaseExpectation {
        .stat(StatShape(type: .file, mode: mode, size: size, uid: uid, gid: gid, modified: modified))
    }

    static func folder(_ mode: UInt16 = 0o500, uid: UInt32? = 7, gid: UInt32? = 8) -> CaseExpectation {
        .stat(StatShape(type: .directory, mode: mode, uid: uid, gid: gid))
    }

    static func symlink(to target: String) -> CaseExpectation {
        .stat(StatShape(type: .symlink, mode: 0o777, size: target.utf8.count))
    }
}

/// What a check may compare against besides the outcome itself.
struct CheckContext {
    /// The values the store was given and the values read so far in the case.
    var secrets: [[UInt8]]
    /// Inodes of the tagged steps so far.
    var inodes: [String: UInt64]
}

extension CaseExpectation {
    /// Why `outcome` is not what this expects; nil when it is.
    func mismatch(_ outcome: CaseOutcome, _ context: CheckContext) -> String? {
        switch (self, outcome) {
        case (.all(let each), _):
            return each.lazy.compactMap { $0.mismatch(outcome, context) }.first
        case (.errno(let expected), .failed(let got)):
            return expected == got ? nil : "errno \(got), expected \(expected)"
        case (.errno(let expected), _):
            return "succeeded (\(outcome)), expected errno \(expected)"
        case (.lacksValues, _):
            // A failure reveals nothing.
            return Self.revealed(outcome, context.secrets)
        case (_, .failed(let got)):
            return "failed with errno \(got)"
        case (.bytes(let expected), .bytes(let got)):
            return expected == got ? nil : Self.differ(got, expected)
        case (.text(let expected), .bytes(let got)):
            return Array(expected.utf8) == got ? nil : Self.differ(got, Array(expected.utf8))
        case (.text(let expected), .text(let got)):
            return expected == got ? nil : Self.differ(Array(got.utf8), Array(expected.utf8))
        case (.matches(let pattern), .bytes(let got)):
            return Self.whole(pattern, String(decoding: got, as: UTF8.self))
        case (.matches(let pattern), .text(let got)):
            return Self.whole(pattern, got)
        case (.names(let expected), .names(let got)):
            return expected == got ? nil : "names \(got), expected \(expected)"
        case (.stat(let shape), .attributes(let got)):
            return shape.mismatch(got)
        case (.count(let expected), .count(let got)):
            return expected == got ? nil : "count \(got), expected \(expected)"
        case (.json(let checks), .bytes(let got)):
            return JSONCheck.mismatch(checks, in: got)
        case (.jsonLines(let lines), .bytes(let got)):
            let got = got.split(separator: UInt8(ascii: "\n")).map(Array.init)
            guard got.count == lines.count else { return "\(got.count) lines, expected \(lines.count)" }
            return zip(lines, got).lazy.compactMap { JSONCheck.mismatch($0, in: $1) }.first
        case (.prometheus(let samples), .bytes(let got)):
            return Self.prometheusMismatch(samples, String(decoding: got, as: UTF8.self))
        case (.sameInode(let tag), .attributes(let got)):
            guard let inode = context.inodes[tag] else { return "no step tagged \(tag)" }
            return inode == got.inode ? nil : "inode \(got.inode), expected \(inode) as \(tag)"
        case (.succeeds, _):
            return nil
        default:
            return "answered \(outcome), which cannot be \(self)"
        }
    }

    /// Where two answers part, by length and offset only: a failing test prints no secret's bytes.
    private static func differ(_ got: [UInt8], _ expected: [UInt8]) -> String {
        let first =
            zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(got.count, expected.count)
        return "\(got.count) bytes, expected \(expected.count); they differ from offset \(first)"
    }

    private static func whole(_ pattern: String, _ text: String) -> String? {
        guard let regex = try? Regex(pattern) else { return "bad pattern \(pattern)" }
        return text.wholeMatch(of: regex) == nil ? "\(text.utf8.count) bytes that do not match \(pattern)" : nil
    }

    /// The first secret (at least 4 bytes, so chance does not match) found in the answer.
    static func revealed(_ outcome: CaseOutcome, _ secrets: [[UInt8]]) -> String? {
        let haystack: [UInt8]
        switch outcome {
        case .bytes(let bytes): haystack = bytes
        case .text(let text): haystack = Array(text.utf8)
        case .names(let names): haystack = Array(names.joined(separator: "\n").utf8)
        default: return nil
        }
        for secret in secrets where secret.count >= 4 && haystack.containsSubsequence(secret) {
            return "the answer holds a secret's value"
        }
        return nil
    }

    /// Every line a `# HELP`, a `# TYPE` or `name value` with a number; each sample named is in range.
    private static func prometheusMismatch(_ samples: [String: ClosedRange<Double>], _ text: String) -> String? {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#") {
                guard line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") else { return "comment line \(line)" }
                continue
            }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                return "not a sample: \(line)"
            }
            values[String(line[..<space])] = value
        }
        for (name, range) in samples.sorted(by: { $0.key < $1.key }) {
            guard let value = values[name] else { return "no sample \(name)" }
            guard range.contains(value) else { return "\(name) is \(value), expected \(range)" }
        }
        return nil
    }
}

extension StatShape {
    func mismatch(_ got: NodeAttributes) -> String? {
        var wrong: [String] = []
        if got.type != type { wrong.append("type \(got.type), expected \(type)") }
        if got.permissions != mode {
            wrong.append("mode \(String(got.permissions, radix: 8)), expected \(String(mode, radix: 8))")
        }
        if let size, got.size != size { wrong.append("size \(got.size), expected \(size)") }
        if let uid, got.uid != uid { wrong.append("uid \(got.uid), expected \(uid)") }
        if let gid, got.gid != gid { wrong.append("gid \(got.gid), expected \(gid)") }
        if let modified, got.modified.timeIntervalSince1970 != modified {
            wrong.append("mtime \(got.modified.timeIntervalSince1970), expected \(modified)")
        }
        return wrong.isEmpty ? nil : wrong.joined(separator: "; ")
    }
}

extension CaseOutcome {
    /// Answers that differ from this one in the ways a wrong mount would: another errno, a failure
    /// instead of an answer, a secret's bytes added, a mode, size and inode changed. A case's
    /// expectation must notice each (`CaseListTests.everyExpectationCanFail`).
    func perturbed(secret: [UInt8]) -> [CaseOutcome] {
        switch self {
        case .failed(let errno):
            return [.failed(errno == EIO ? ENOENT : EIO), .bytes(secret)]
        case .attributes(var attributes):
            attributes.permissions ^= 0o001
            attributes.size += 1
            attributes.inode ^= 0xffff_0000_0000
            return [.failed(EIO), .attributes(attributes)]
        case .names(let names):
            return [.failed(EIO), .names(names + [String(decoding: secret, as: UTF8.self)])]
        case .bytes(let bytes):
            return [.failed(EIO), .bytes(bytes + [UInt8(ascii: "\n")] + secret)]
        case .text(let text):
            return [.failed(EIO), .text(text + String(decoding: secret, as: UTF8.self))]
        case .count(let count):
            return [.failed(EIO), .count(count + 1)]
        case .done:
            return [.failed(EIO)]
        }
    }
}
