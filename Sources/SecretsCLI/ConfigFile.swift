import Foundation
import SecretsCore
import SecretsFileSystem
import Yams

/// The `--config` YAML file. Its keys are the long flag names (`cache-ttl: 5m`,
/// `allow-other: true`, `env-include: [A_*, B_*]`) plus `policy`. Flags win over environment
/// variables, which win over the file: a key is used only when its flag is absent from the
/// command line and none of its environment variables is set. An unknown key is an error.
/// `files:` is read in `ConfigRenderedFiles.swift`, `permissions:` in `ConfigPermissionRules.swift`,
/// `certificates:` in `ConfigCertificates.swift`, `on_change:` in `ChangeActionConfig.swift`, `leases:` in
/// `ConfigLeases.swift`.
struct ConfigFile {
    /// Keys that are not flags.
    static let structuredKeys: Set<String> = [
        "policy", "files", "permissions", "certificates", "on_change", "leases",
    ]

    var values: [String: Node]
    var path: String
    /// The line of each key, so that errors point at it instead of quoting what it holds.
    var lines: [String: Int] = [:]
    /// The file's lines, so that an error inside a block scalar (a template) can give its column.
    var textLines: [Substring] = []

    static func load(_ path: String) throws(SecretError) -> ConfigFile {
        let data = try TrustedFile.read(path, what: "config file")
        let text = String(decoding: data, as: UTF8.self)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // Yams' message quotes the offending line, which may hold a value: give the place only.
            let mark = (error as? YamlError).flatMap { "\($0)".split(separator: "\n").first.map(String.init) } ?? ""
            throw SecretError(
                .configuration, "config file \(path) is not valid YAML \(mark.isEmpty ? "" : "(\(mark.prefix(80)))")")
        }
        guard let root else { return ConfigFile(values: [:], path: path) }
        guard let mapping = root.mapping else {
            throw SecretError(.configuration, "config file \(path) must be a mapping of option names to values")
        }
        var values: [String: Node] = [:]
        var lines: [String: Int] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                throw SecretError(.configuration, "config file \(path): a key is not a string")
            }
            guard OptionSpec.named(name)?.inConfigFile == true || structuredKeys.contains(name) else {
                throw ConfigValueCheck.unknownKey(name, at: "config file \(path)")
            }
            values[name] = value
            lines[name] = key.mark?.line
        }
        return ConfigFile(
            values: values, path: path, lines: lines,
            textLines: text.split(separator: "\n", omittingEmptySubsequences: false))
    }

    /// The arguments the file adds for `subcommand`, given what the command line already says.
    func arguments(for subcommand: String, given argv: [String], environment: [String: String]) throws(SecretError)
        -> [String]
    {
        var added: [String] = []
        for (key, node) in values.sorted(by: { $0.key < $1.key }) {
            guard let option = OptionSpec.named(key) else { continue }
            if option.scope == .mountOnly, !ArgumentRewriter.takingMountOptions.contains(subcommand) { continue }
            let flag = option.flag
            if argv.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) { continue }
            if option.value(in: environment) != nil { continue }
            if option.kind == .flag {
                guard let on = node.bool else {
                    throw SecretError(.configuration, "\(place(of: key, node)): '\(key)' must be true or false")
                }
                if on { added.append(flag) }
                continue
            }
            let items: [Node] = node.sequence.map(Array.init) ?? [node]
            for item in items {
                guard let text = item.scalar?.string else {
                    throw SecretError(
                        .configuration, "\(place(of: key, item)): '\(key)' must be a value or a list of values")
                }
                if let reason = ConfigValueCheck.problem(option, arguments: [flag, text]) {
                    // Never the value: a secret pasted into the wrong line would be printed for all to see.
                    throw SecretError(
                        .configuration,
                        "\(place(of: key, item)): invalid value for '\(key)'\(reason.isEmpty ? "" : " (\(reason))")")
                }
                added += [flag, text]
            }
        }
        return added
    }

    /// `config file F, line N`: where `key` (or the item `node` of its list) is.
    private func place(of key: String, _ node: Node) -> String {
        guard let line = node.mark?.line ?? lines[key] else { return "config file \(path)" }
        return "config file \(path), line \(line)"
    }

    /// The `policy:` list: rules tried in order, the first whose path matches decides.
    func policy() throws(SecretError) -> AccessPolicy? {
        guard let node = values["policy"] else { return nil }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "config file \(path): 'policy' must be a list of rules")
        }
        var rules: [AccessPolicy.Rule] = []
        for (index, item) in sequence.enumerated() {
            let place = "config file \(path): policy rule \(index + 1)"
            guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
            var rule = AccessPolicy.Rule(path: "")
            for (key, value) in mapping {
                switch key.string {
                case "path":
                    guard let text = value.string else {
                        throw SecretError(.configuration, "\(place): 'path' must be a glob")
                    }
                    rule.path = text
                case "uids": rule.uids = try Self.numbers(value, "\(place): 'uids'")
                case "gids": rule.gids = try Self.numbers(value, "\(place): 'gids'")
                case "executables":
                    guard let list = value.sequence?.compactMap(\.string) else {
                        throw SecretError(.configuration, "\(place): 'executables' must be a list of paths or globs")
                    }
                    rule.executables = list
                default:
                    throw ConfigValueCheck.unknownKey(key.string, at: place)
                }
            }
            guard !rule.path.isEmpty else { throw SecretError(.configuration, "\(place) needs a 'path'") }
            rules.append(rule)
        }
        return AccessPolicy(rules: rules)
    }

    private static func numbers(_ node: Node, _ place: String) throws(SecretError) -> [UInt32] {
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "\(place) must be a list of numbers")
        }
        var numbers: [UInt32] = []
        for item in sequence {
            guard let text = item.string, let number = UInt32(text) else {
                throw SecretError(.configuration, "\(place) must be a list of numbers")
            }
            numbers.append(number)
        }
        return numbers
    }
}
