import Foundation
import PropertyBased

/// Random inputs for the parsers: strings built from the pieces that matter to each format (separators,
/// dots, NUL, long names, odd Unicode), random bytes, garbled copies of valid documents, and random JSON
/// trees over a format's own keys. No shrinking: a failure prints the input and the seed to replay it.
enum Fuzz {
    /// Marks values planted in documents: an error message must never contain it.
    static let planted = "PLANTED-c0ffee"

    static func int(_ range: ClosedRange<Int>, _ rng: inout any SeededRandomNumberGenerator) -> Int {
        Int.random(in: range, using: &rng)
    }

    static func pick<T>(_ items: [T], _ rng: inout any SeededRandomNumberGenerator) -> T {
        items[int(0...(items.count - 1), &rng)]
    }

    static func chance(_ percent: Int, _ rng: inout any SeededRandomNumberGenerator) -> Bool {
        int(1...100, &rng) <= percent
    }

    /// Any Unicode scalar, surrogates excepted; mostly from the low planes.
    static func scalar(_ rng: inout any SeededRandomNumberGenerator) -> Unicode.Scalar {
        while true {
            let upper = chance(80, &rng) ? 0x7F : (chance(80, &rng) ? 0xFFFF : 0x10FFFF)
            if let scalar = Unicode.Scalar(UInt32(int(0...upper, &rng))) { return scalar }
        }
    }

    /// A string of `pieces` and random scalars.
    static func text(
        from pieces: [String], length: ClosedRange<Int>, _ rng: inout any SeededRandomNumberGenerator
    ) -> String {
        var out = ""
        for _ in 0..<int(length, &rng) {
            if chance(75, &rng) {
                out += pick(pieces, &rng)
            } else {
                out.unicodeScalars.append(scalar(&rng))
            }
        }
        return out
    }

    static func strings(from pieces: [String], length: ClosedRange<Int>) -> Generator<String, Shrink.None<String>> {
        Generator { rng in text(from: pieces, length: length, &rng) }
    }

    static func bytes(_ length: ClosedRange<Int>) -> Generator<[UInt8], Shrink.None<[UInt8]>> {
        Generator { rng in (0..<int(length, &rng)).map { _ in UInt8(int(0...255, &rng)) } }
    }

    /// `document` with a few random edits: bytes changed, cut, repeated or inserted, or the end cut off.
    static func garble(_ document: [UInt8], _ rng: inout any SeededRandomNumberGenerator) -> [UInt8] {
        var bytes = document
        for _ in 0..<int(1...4, &rng) {
            guard !bytes.isEmpty else { break }
            let at = int(0...(bytes.count - 1), &rng)
            switch int(0...5, &rng) {
            case 0: bytes[at] = UInt8(int(0...255, &rng))
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + int(1...8, &rng)))
            case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + int(1...16, &rng))], at: at)
            case 3: bytes.insert(pick(Array("{}[]\":,0-.e\\".utf8), &rng), at: at)
            case 4: bytes.removeSubrange(at...)
            default:
                bytes.insert(
                    contentsOf: Array(pick(["null", "true", "[]", "{}", "1e999", "-1", "\"\""], &rng).utf8), at: at)
            }
        }
        return bytes
    }

    /// A random JSON value whose object keys come from `keys`, nested at most `depth` deep.
    static func json(keys: [String], depth: Int, _ rng: inout any SeededRandomNumberGenerator) -> Any {
        let kinds = depth > 0 ? 9 : 6
        switch int(0...(kinds - 1), &rng) {
        case 0: return NSNull()
        case 1: return chance(50, &rng)
        case 2: return pick([0, 1, -1, 3, 42, Int.max, Int.min, 1_700_000_000], &rng)
        case 3: return pick([0.5, -2.25, 1e300, -1e300, 1.7e9, 5e-324], &rng)
        case 4: return pick([planted, "", "1", "2024-01-02T03:04:05.123456789Z", "AWSCURRENT", "a/b", "x"], &rng)
        case 5: return text(from: ["a", "/", "=", "\\", "\"", planted], length: 0...6, &rng)
        case 6: return (0..<int(0...3, &rng)).map { _ in json(keys: keys, depth: depth - 1, &rng) }
        default:
            var object: [String: Any] = [:]
            for _ in 0..<int(0...5, &rng) { object[pick(keys, &rng)] = json(keys: keys, depth: depth - 1, &rng) }
            return object
        }
    }

    /// Bytes of a random JSON document over `keys`: mostly an object, sometimes anything.
    static func jsonDocuments(keys: [String]) -> Generator<[UInt8], Shrink.None<[UInt8]>> {
        Generator { rng in
            var root = json(keys: keys, depth: 4, &rng)
            if chance(80, &rng), !(root is [String: Any]) {
                root = [pick(keys, &rng): root]
            }
            let data = try? JSONSerialization.data(withJSONObject: root, options: [.fragmentsAllowed])
            return data.map(Array.init) ?? Array("null".utf8)
        }
    }

    /// Garbled copies of `documents`, and now and then one of them intact.
    static func garbled(_ documents: [String]) -> Generator<[UInt8], Shrink.None<[UInt8]>> {
        Generator { rng in
            let document = Array(pick(documents, &rng).utf8)
            return chance(10, &rng) ? document : garble(document, &rng)
        }
    }
}
