import Foundation
import Logging
import SecretsCore
import SecretsFileSystem
import Yams

/// The `permissions:` list of the config file: owner and mode per path glob, first match wins.
extension ConfigFile {
    func permissionRules() throws(SecretError) -> PermissionRules {
        guard let node = values["permissions"] else { return .none }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "config file \(path): 'permissions' must be a list of rules")
        }
        var rules: [PermissionRules.Rule] = []
        for (index, item) in sequence.enumerated() {
            let line = item.mark?.line ?? lines["permissions"]
            let place = "config file \(path)\(line.map { ", line \($0)" } ?? ""): permissions rule \(index + 1)"
            guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
            var rule = PermissionRules.Rule(paths: [])
            for (key, value) in mapping {
                let name = key.string ?? "?"
                switch name {
                case "paths":
                    let items = value.sequence.map(Array.init) ?? [value]
                    let globs = items.compactMap(\.string).filter { !$0.isEmpty }
                    guard globs.count == items.count, !globs.isEmpty else {
                        throw SecretError(.configuration, "\(place): 'paths' must be a list of globs")
                    }
                    rule.paths = globs
                default:
                    guard try Self.ownership(name, value, place, into: &rule) else {
                        throw ConfigValueCheck.unknownKey(name, at: place)
                    }
                }
            }
            guard !rule.paths.isEmpty else { throw SecretError(.configuration, "\(place) needs 'paths'") }
            guard rule.mode != nil || rule.uid != nil || rule.gid != nil else {
                throw SecretError(.configuration, "\(place) sets none of 'mode', 'uid', 'gid'")
            }
            rules.append(rule)
        }
        return PermissionRules(rules: rules)
    }

    /// Reads `mode`, `uid` or `gid` of an entry that sets its files' owner and mode into `rule`; false for
    /// any other key.
    static func ownership(
        _ name: String, _ value: Node, _ place: String, into rule: inout PermissionRules.Rule
    ) throws(SecretError) -> Bool {
        switch name {
        case "mode":
            rule.mode = try mode(value, place)
        case "uid", "gid":
            guard let number = value.string.flatMap(UInt32.init) else {
                throw SecretError(.configuration, "\(place): '\(name)' must be a number")
            }
            if name == "uid" { rule.uid = number } else { rule.gid = number }
        default:
            return false
        }
        return true
    }

    /// An octal mode as YAML spells it: `0440`, `440` or `0o440`.
    static func mode(_ node: Node, _ place: String) throws(SecretError) -> UInt16 {
        let text = node.string.map { $0.hasPrefix("0o") ? String($0.dropFirst(2)) : $0 }
        guard let mode = text.flatMap(ModeArgument.init(argument:))?.mode else {
            throw SecretError(.configuration, "\(place): 'mode' must be an octal mode such as 0440")
        }
        return mode
    }
}

extension MountCommand {
    /// As `warnIfOthersAreLockedOut`, for the owners and modes the config gives: without
    /// `--allow-other` nobody but the mounting user gets in, whatever they say.
    func warnIfConfiguredOwnersAreLockedOut(_ logger: Logger, rules: PermissionRules, files: [RenderedFile]) {
        let kernelOptions = o.flatMap { $0.split(separator: ",").map(String.init) }
        if allowOther || kernelOptions.contains("allow_other") { return }
        let mountingUser = getuid()
        var meantForOthers: [String] = []
        for (index, rule) in rules.rules.enumerated() {
            if let uid = rule.uid, uid != mountingUser {
                meantForOthers.append("permissions rule \(index + 1) gives uid \(uid)")
            }
            if let mode = rule.mode, mode & 0o077 != 0 {
                meantForOthers.append("permissions rule \(index + 1) lets group or others in")
            }
        }
        for file in files {
            if let uid = file.uid, uid != mountingUser { meantForOthers.append("\(file.path) is owned by uid \(uid)") }
            if let mode = file.mode, mode & 0o077 != 0 { meantForOthers.append("\(file.path) lets group or others in") }
        }
        guard !meantForOthers.isEmpty else { return }
        logger.warning(
            "\(meantForOthers.joined(separator: " and ")), but without --allow-other only uid \(mountingUser) (the mounting user) can enter the mount"
        )
    }
}
