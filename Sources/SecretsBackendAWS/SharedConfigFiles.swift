import Foundation
import SecretsCore

/// `~/.aws/credentials` and `~/.aws/config` as the SDKs read them: INI sections, `[name]` in the
/// credentials file, `[default]` and `[profile name]` in the config file. Nested blocks (indented
/// lines under `s3 =`) and unknown sections are ignored.
struct SharedConfigFiles: Sendable {
    var credentialsPath: String
    var configPath: String
    /// Section name (profile) to its keys.
    var credentials: [String: [String: String]]
    var config: [String: [String: String]]

    static func load(environment: [String: String], homeDirectory: String) throws(SecretError) -> SharedConfigFiles {
        let credentialsPath = expand(
            environment["AWS_SHARED_CREDENTIALS_FILE"].nonEmpty ?? "~/.aws/credentials", home: homeDirectory)
        let configPath = expand(environment["AWS_CONFIG_FILE"].nonEmpty ?? "~/.aws/config", home: homeDirectory)
        return SharedConfigFiles(
            credentialsPath: credentialsPath, configPath: configPath,
            credentials: parse(try read(credentialsPath, what: "AWS credentials file"), profilePrefix: false),
            config: parse(try read(configPath, what: "AWS config file"), profilePrefix: true))
    }

    /// A key of `profile` in the config file.
    func configValue(_ key: String, profile: String) -> String? {
        config[profile]?[key]
    }

    func hasProfile(_ profile: String) -> Bool {
        credentials[profile] != nil || config[profile] != nil
    }

    static func expand(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    /// A file that is not there is no profile; one that is must be trusted (it holds keys).
    static func read(_ path: String, what: String) throws(SecretError) -> String {
        guard FileManager.default.fileExists(atPath: path) else { return "" }
        var bytes = try TrustedFile.read(path, what: what)
        defer { bytes.zeroize() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// In the config file a profile other than `default` is `[profile name]`; `[name]` there is
    /// something else (sso-session, services) and is skipped, as the SDKs do.
    static func parse(_ text: String, profilePrefix: Bool) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let indented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else {
                    current = nil
                    continue
                }
                let name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                current = sectionProfile(name, profilePrefix: profilePrefix)
                if let current, sections[current] == nil { sections[current] = [:] }
                continue
            }
            guard let current, !indented, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            // No inline comments, as botocore reads these files: a `#` after a value is part of it.
            sections[current]?[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return sections
    }

    static func sectionProfile(_ name: String, profilePrefix: Bool) -> String? {
        guard profilePrefix else { return name }
        if name == "default" { return name }
        let parts = name.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "profile" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
