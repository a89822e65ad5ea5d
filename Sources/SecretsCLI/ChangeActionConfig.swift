import SecretsCore
import Yams

/// One entry of `on_change:`: which paths it watches, what it does, and how it waits.
struct ChangeAction: Sendable, Equatable {
    enum Effect: Sendable, Equatable {
        /// A program, argv as given (no shell).
        case exec([String])
        /// A signal to the pid a file holds, read at each run (the program may have restarted).
        case signal(Int32, pidFile: String)
        /// `systemctl reload UNIT`, run as an `exec`.
        case systemdUnit(String)

        var kind: String {
            switch self {
            case .exec: "exec"
            case .signal: "signal"
            case .systemdUnit: "systemd_unit"
            }
        }

        /// The argv of a program to run; nil for a signal.
        var argv: [String]? {
            switch self {
            case .exec(let argv): argv
            case .systemdUnit(let unit): ["systemctl", "reload", unit]
            case .signal: nil
            }
        }
    }

    /// From 1, as the log and `.status` name it.
    var index: Int
    /// Path globs (`Glob.matchesPath`, `**` for any number of segments), split into segments.
    var patterns: [[Substring]]
    var effect: Effect
    /// Changes closer together than this make one run, after the last of them.
    var debounce: Duration = ChangeAction.defaultDebounce
    /// A random wait in [0, splay) before a run, so a fleet does not reload at once.
    var splay: Duration = .zero
    /// How long a program may run before it is stopped (SIGTERM, then SIGKILL).
    var timeout: Duration = ChangeAction.defaultTimeout

    static let defaultDebounce: Duration = .seconds(1)
    static let defaultTimeout: Duration = .seconds(30)

    /// Whether a change to `path` (or to its `field`) concerns this action. A change with no field to a
    /// secret that is a folder of fields concerns a pattern that names one of its fields: which field
    /// changed is not known then.
    func matches(_ path: SecretPath, field: String?) -> Bool {
        let segments = ArraySlice(path.segments)
        return patterns.contains { pattern in
            if Glob.matchesPath(pattern, segments) { return true }
            if let field { return Glob.matchesPath(pattern, segments + [field]) }
            return pattern.count > segments.count && Glob.prefixCompatible(pattern, segments)
        }
    }
}

extension ConfigFile {
    /// The `on_change:` list, checked whole at start: a mistake is one line naming the entry and key.
    func changeActions() throws(SecretError) -> [ChangeAction] {
        guard let node = values["on_change"] else { return [] }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "\(place(node, "on_change")): 'on_change' must be a list of actions")
        }
        var actions: [ChangeAction] = []
        for (offset, item) in sequence.enumerated() {
            actions.append(try changeAction(item, index: offset + 1))
        }
        return actions
    }

    private func changeAction(_ item: Node, index: Int) throws(SecretError) -> ChangeAction {
        let place = "\(place(item, "on_change")): on_change action \(index)"
        guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
        var patterns: [[Substring]]?
        var effects: [(key: String, effect: ChangeAction.Effect?)] = []
        var signal: Int32?
        var pidFile: String?
        var timings: [String: Duration] = [:]
        for (key, value) in mapping {
            let name = key.string ?? "?"
            switch name {
            case "paths":
                let items: [Node] = value.sequence.map(Array.init) ?? [value]
                let globs = items.compactMap { $0.scalar?.string }
                guard !globs.isEmpty, globs.count == items.count,
                    globs.allSatisfy({ !$0.isEmpty && !$0.hasPrefix("/") && !$0.split(separator: "/").isEmpty })
                else {
                    throw SecretError(
                        .configuration, "\(place): 'paths' must be a list of path globs in the mount, such as tls/**")
                }
                patterns = globs.map { $0.split(separator: "/") }
            case "exec":
                guard let argv = value.sequence?.compactMap({ $0.scalar?.string }),
                    argv.count == value.sequence?.count, let first = argv.first, !first.isEmpty
                else {
                    throw SecretError(
                        .configuration, "\(place): 'exec' must be a list: the program, then its arguments")
                }
                effects.append((name, .exec(argv)))
            case "systemd_unit":
                guard let unit = value.scalar?.string, !unit.isEmpty, !unit.hasPrefix("-") else {
                    throw SecretError(
                        .configuration, "\(place): 'systemd_unit' must be a unit name, such as app.service")
                }
                effects.append((name, .systemdUnit(unit)))
            case "signal":
                guard let text = value.scalar?.string, let number = SignalName.number(text) else {
                    throw SecretError(.configuration, "\(place): 'signal' must be one of \(SignalName.known)")
                }
                signal = number
                effects.append((name, nil))
            case "pid_file":
                guard let file = value.scalar?.string, file.hasPrefix("/") else {
                    throw SecretError(.configuration, "\(place): 'pid_file' must be an absolute path")
                }
                pidFile = file
            case "debounce", "splay", "timeout":
                guard let text = value.scalar?.string, let duration = try? DurationParser.parse(text) else {
                    throw SecretError(.configuration, "\(place): '\(name)' must be a duration, such as 2s or 500ms")
                }
                timings[name] = duration
            default:
                throw ConfigValueCheck.unknownKey(name, at: place)
            }
        }
        guard let patterns else { throw SecretError(.configuration, "\(place) needs 'paths'") }
        guard effects.count == 1, let chosen = effects.first else {
            let given = effects.map { "'\($0.key)'" }.joined(separator: " and ")
            throw SecretError(
                .configuration,
                "\(place) needs exactly one of 'exec', 'signal', 'systemd_unit'\(given.isEmpty ? "" : ", not \(given)")"
            )
        }
        let effect: ChangeAction.Effect
        if let signal {
            guard let pidFile else { throw SecretError(.configuration, "\(place): 'signal' needs a 'pid_file'") }
            effect = .signal(signal, pidFile: pidFile)
        } else {
            guard pidFile == nil else {
                throw SecretError(.configuration, "\(place): 'pid_file' goes with 'signal' only")
            }
            effect = chosen.effect!
        }
        if timings["timeout"] != nil, effect.argv == nil {
            throw SecretError(.configuration, "\(place): 'timeout' is for 'exec' and 'systemd_unit'")
        }
        if let timeout = timings["timeout"], timeout <= .zero {
            throw SecretError(.configuration, "\(place): 'timeout' must be more than 0")
        }
        var action = ChangeAction(index: index, patterns: patterns, effect: effect)
        action.debounce = timings["debounce"] ?? action.debounce
        action.splay = timings["splay"] ?? action.splay
        action.timeout = timings["timeout"] ?? action.timeout
        return action
    }
}
