// The shapes of KV v1 and v2 and auth answers, decoded from JSON, and the JSON bodies we send.
// A shape we do not understand is `.malformedResponse`; the body is never quoted, it may hold values.
import Crypto
import Foundation
import SecretsCore

enum VaultKV {
    /// Vault data is JSON text, so bytes that are not UTF-8 are stored base64-encoded and this key lists
    /// which fields are. A name starting with `.` can never be shown as a field, so the mount hides it;
    /// `vault kv get` shows it, which tells a human what happened to the value.
    static let base64FieldsKey = ".secretsfs-base64"

    struct Version: Sendable {
        var number: Int
        var createdAt: Date?
    }

    struct Fields: Sendable {
        var values: [String: SecretValue]
        /// Fields that held JSON other than a string, and now hold its text.
        var jsonFields: Set<String>
    }

    /// A field as written: a value, or the JSON text of a non-string value another tool wrote, which a
    /// rotation of a neighbouring field writes back as the same JSON.
    enum FieldValue: Sendable {
        case value(SecretValue)
        case json(SecretValue)
    }

    struct DataRead: Sendable {
        /// Nil when the version is deleted or destroyed (Vault answers 404 with its metadata then).
        var fields: Fields?
        var version: Version
    }

    struct Metadata: Sendable {
        var currentVersion: Int?
        /// Readable versions only (neither deleted nor destroyed), oldest first.
        var readable: [Version]
    }

    struct Login: Sendable {
        var token: SecretValue
        var ttl: Duration
        var renewable: Bool
    }

    // MARK: decoding

    static func object(_ body: [UInt8], _ what: String) throws(SecretError) -> [String: Any] {
        guard !body.isEmpty, let object = parsed(body) as? [String: Any]
        else { throw malformed(what, "not a JSON object") }
        return object
    }

    /// The JSON in `body`, parsed where it lies: a copy of an answer is one more copy of its values
    /// left behind in freed memory, and one more allocation per call.
    private static func parsed(_ body: [UInt8]) -> Any? {
        body.withUnsafeBytes { bytes -> Any? in
            guard let base = bytes.baseAddress else { return nil }
            // The parser only reads it, and keeps nothing of it once it returns.
            let view = Data(
                bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
            return try? JSONSerialization.jsonObject(with: view)
        }
    }

    static func malformed(_ what: String, _ problem: String) -> SecretError {
        SecretError(.malformedResponse, "Vault's answer to \(what) is not what KV v2 sends (\(problem))")
    }

    /// `GET <mount>/data/<path>`: `data.data` and `data.metadata`.
    static func dataRead(_ body: [UInt8], _ what: String) throws(SecretError) -> DataRead {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any] else { throw malformed(what, "no data") }
        guard let metadata = data["metadata"] as? [String: Any] else { throw malformed(what, "no data.metadata") }
        let version = try self.version(metadata, what)
        guard let raw = data["data"], !(raw is NSNull) else { return DataRead(fields: nil, version: version) }
        guard let map = raw as? [String: Any] else { throw malformed(what, "data.data is not an object") }
        return DataRead(fields: try fields(map, what), version: version)
    }

    /// `GET <mount>/<path>` on KV v1: `data` is the map itself, with no version.
    static func dataReadV1(_ body: [UInt8], _ what: String) throws(SecretError) -> Fields {
        let root = try object(body, what)
        guard let map = root["data"] as? [String: Any] else { throw malformed(what, "no data object") }
        return try fields(map, what)
    }

    /// `GET sys/internal/ui/mounts/<mount>`: 1 or 2 for a KV mount (no version option is KV v1).
    static func mountVersion(_ body: [UInt8], _ what: String, asked mount: String? = nil) throws(SecretError) -> Int {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any] else { throw malformed(what, "no data") }
        // Vault describes the engine a path lies in: `secret/apps/web` (the `bao kv` habit) is answered
        // with `secret/`. Then the rest is a prefix, not part of the mount.
        if let mount, let found = (data["path"] as? String).map({ String($0.dropLast($0.hasSuffix("/") ? 1 : 0)) }),
            !found.isEmpty, found != mount, mount.hasPrefix(found + "/")
        {
            let rest = mount.dropFirst(found.count + 1)
            throw SecretError(
                .configuration,
                "--vault-mount \(mount) lies inside the KV mount \(found): use --vault-mount \(found) --vault-prefix \(rest)"
            )
        }
        if let type = data["type"] as? String, !["kv", "generic"].contains(type) {
            throw SecretError(.configuration, "the Vault mount is a \(type) engine, not KV")
        }
        let options = data["options"] as? [String: Any]
        return (options?["version"] as? String) == "2" ? 2 : 1
    }

    /// What stands for a version on KV v1, which keeps none: a digest of the fields, so a change at the
    /// store reads as a new version to the cache and to `.status`. Never the value itself.
    static func fingerprint(_ fields: [String: SecretValue]) -> String {
        var hasher = SHA256()
        for name in fields.keys.sorted() {
            hasher.update(data: Array(name.utf8) + [0])
            fields[name]!.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            hasher.update(data: [0])
        }
        return hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    private static func version(_ metadata: [String: Any], _ what: String) throws(SecretError) -> Version {
        guard let number = integer(metadata["version"]) else { throw malformed(what, "no metadata.version") }
        return Version(number: number, createdAt: date(metadata["created_time"]))
    }

    /// The fields of one version. Strings are taken as their UTF-8 bytes. Other JSON values (numbers,
    /// booleans, null, objects, arrays: written by other tools, never by us) are shown as their JSON text,
    /// so `{"port": 5432}` reads as `5432`: a file can only hold bytes, and this is what `vault kv get
    /// -format=json` would show for them.
    static func fields(_ map: [String: Any], _ what: String) throws(SecretError) -> Fields {
        var encoded: Set<String> = []
        if let marker = map[base64FieldsKey] {
            guard let names = marker as? [String] else { throw malformed(what, "\(base64FieldsKey) is not a list") }
            encoded = Set(names)
        }
        var fields: [String: SecretValue] = [:]
        var jsonFields: Set<String> = []
        for (name, raw) in map where name != base64FieldsKey {
            if let text = raw as? String {
                if encoded.contains(name) {
                    guard var bytes = Data(base64Encoded: text).map({ [UInt8]($0) }) else {
                        throw malformed(what, "field \(name) is marked base64 but is not")
                    }
                    fields[name] = SecretValue(zeroing: &bytes)
                } else {
                    fields[name] = SecretValue(string: text)
                }
            } else if let json = try? JSONSerialization.data(
                withJSONObject: raw, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
            {
                fields[name] = SecretValue(bytes: json)
                jsonFields.insert(name)
            } else {
                throw malformed(what, "field \(name) holds a value that is not JSON")
            }
        }
        return Fields(values: fields, jsonFields: jsonFields)
    }

    /// `GET <mount>/metadata/<path>`.
    static func metadata(_ body: [UInt8], _ what: String) throws(SecretError) -> Metadata {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any] else { throw malformed(what, "no data") }
        guard let versions = data["versions"] as? [String: Any] else { throw malformed(what, "no data.versions") }
        var readable: [Version] = []
        for (key, raw) in versions {
            guard let number = Int(key), let entry = raw as? [String: Any] else {
                throw malformed(what, "a version that is not a number")
            }
            let deleted = (entry["deletion_time"] as? String).map { !$0.isEmpty } ?? false
            let destroyed = entry["destroyed"] as? Bool ?? false
            if deleted || destroyed { continue }
            readable.append(Version(number: number, createdAt: date(entry["created_time"])))
        }
        readable.sort { $0.number < $1.number }
        return Metadata(currentVersion: integer(data["current_version"]), readable: readable)
    }

    /// `LIST <mount>/metadata/<folder>`: `data.keys`, folders ending in `/`.
    static func keys(_ body: [UInt8], _ what: String) throws(SecretError) -> [String] {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any], let keys = data["keys"] as? [String] else {
            throw malformed(what, "no data.keys")
        }
        return keys
    }

    /// `POST <mount>/data/<path>`: `data.version` and `data.created_time` of the new version.
    static func written(_ body: [UInt8], _ what: String) throws(SecretError) -> Version {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any] else { throw malformed(what, "no data") }
        return try version(data, what)
    }

    /// The `errors` list of a failed call, for recognising a CAS mismatch; never logged or shown.
    static func errors(_ body: [UInt8]) -> [String] {
        guard let root = parsed(body) as? [String: Any] else { return [] }
        return root["errors"] as? [String] ?? []
    }

    /// `auth` of a login or renew-self answer.
    static func login(_ body: [UInt8], _ what: String) throws(SecretError) -> Login {
        let root = try object(body, what)
        guard let auth = root["auth"] as? [String: Any], let token = auth["client_token"] as? String,
            !token.isEmpty
        else { throw malformed(what, "no auth.client_token") }
        let ttl = integer(auth["lease_duration"]) ?? 0
        return Login(
            token: SecretValue(string: token), ttl: .seconds(ttl), renewable: auth["renewable"] as? Bool ?? false)
    }

    /// `data` of `auth/token/lookup-self`: the remaining TTL and whether the token renews. The answer also
    /// holds the token itself (`id`), which is never read out.
    static func lookup(_ body: [UInt8], _ what: String) throws(SecretError) -> (ttl: Duration, renewable: Bool) {
        let root = try object(body, what)
        guard let data = root["data"] as? [String: Any], let ttl = integer(data["ttl"]) else {
            throw malformed(what, "no data.ttl")
        }
        return (.seconds(ttl), data["renewable"] as? Bool ?? false)
    }

    static func integer(_ raw: Any?) -> Int? {
        if let number = raw as? NSNumber { return number.intValue }
        if let text = raw as? String { return Int(text) }
        return nil
    }

    /// RFC 3339 with up to nanoseconds, as Vault writes `created_time`.
    static func date(_ raw: Any?) -> Date? {
        guard let text = raw as? String, !text.isEmpty else { return nil }
        return Timestamp.parseRFC3339(text)
    }

    // MARK: encoding

    /// `{"data": {...}}`, with `"options": {"cas": N}` when given. Values that are not UTF-8 go base64 and
    /// are listed under `base64FieldsKey`. The caller zeroes the bytes once sent.
    static func writeBody(_ fields: [String: FieldValue], cas: Int?) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: "{".utf8)
        if let cas { out.append(contentsOf: "\"options\":{\"cas\":\(cas)},".utf8) }
        out.append(contentsOf: "\"data\":".utf8)
        appendFields(fields, to: &out)
        out.append(contentsOf: "}".utf8)
        return out
    }

    /// KV v1 takes the map itself as the body: no `data` around it, no options.
    static func writeBodyV1(_ fields: [String: FieldValue]) -> [UInt8] {
        var out: [UInt8] = []
        appendFields(fields, to: &out)
        return out
    }

    /// The fields as one JSON object.
    private static func appendFields(_ fields: [String: FieldValue], to out: inout [UInt8]) {
        out.append(contentsOf: "{".utf8)
        var encoded: [String] = []
        var first = true
        for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(Array(name.utf8), to: &out)
            out.append(UInt8(ascii: ":"))
            guard case .value(let value) = field else {
                if case .json(let text) = field { text.withUnsafeBytes { out.append(contentsOf: $0) } }
                continue
            }
            value.withUnsafeBytes { bytes in
                if String(validating: bytes, as: UTF8.self) != nil {
                    appendString(bytes, to: &out)
                } else {
                    encoded.append(name)
                    var base64 = Array(Data(bytes).base64EncodedString().utf8)
                    appendString(base64, to: &out)
                    base64.zeroize()
                }
            }
        }
        if !encoded.isEmpty {
            if !first { out.append(UInt8(ascii: ",")) }
            appendString(Array(base64FieldsKey.utf8), to: &out)
            out.append(contentsOf: ":[".utf8)
            for (index, name) in encoded.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(Array(name.utf8), to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(contentsOf: "}".utf8)
    }

    /// A JSON object of string members, for login bodies.
    static func objectBody(_ members: [(String, SecretValue)]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, (name, value)) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(Array(name.utf8), to: &out)
            out.append(UInt8(ascii: ":"))
            value.withUnsafeBytes { appendString($0, to: &out) }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Appends valid UTF-8 `bytes` as a JSON string, escaping what RFC 8259 requires.
    static func appendString<Bytes: Collection>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
