import SecretsCore

/// Turns the two other ways of giving options into plain flags before parsing:
/// - `mount.fuse3` (and so `mount -t fuse.secretsfs` and fstab) runs `secretsfs SOURCE MOUNTPOINT
///   -o opt,key=value`: SOURCE names the backend, and each option that is one of ours becomes its
///   flag (`cache_ttl=5m` → `--cache-ttl 5m`); the rest go to the kernel mount. Such a mount runs
///   as a daemon, since mount(8) waits for the command to return.
/// - `--config FILE` (or `SECRETSFS_CONFIG`) adds the file's keys as flags, after the command
///   line and the environment have had their say.
enum ArgumentRewriter {
    /// Read off the root command, so a new subcommand is never taken for fstab's form.
    static let subcommands: Set<String> = Set(
        SecretsFSCommand.configuration.subcommands.map { $0._commandName } + ["help"])
    static let backends = Set(Backends.kinds)
    /// The subcommands that take no backend options, and so no config file.
    static let withoutStore: Set<String> = ["unmount", "status", "reload", "help", "csi"]
    /// The subcommands that take `mount`'s options: `check` parses its arguments as `mount`'s.
    static let takingMountOptions: Set<String> = ["mount", "check"]

    static func rewrite(_ argv: [String], environment: [String: String]) throws(SecretError) -> [String] {
        var argv = argv
        if let first = argv.first, !first.hasPrefix("-"), !subcommands.contains(first) {
            // Only mount(8)'s own call, whose SOURCE names a backend; a mistyped subcommand
            // (`secretsfs chek DIR`) would otherwise start a mount of the default store on DIR.
            guard backends.contains(first), argv.count >= 2 else { throw unknownSubcommand(first) }
            argv = try fromMountHelper(argv)
        } else if let first = argv.first, takingMountOptions.contains(first) {
            // The direct form takes our options in `-o` too, as DESIGN §5.1 promises.
            argv = try [first] + expandingMountOptions(Array(argv.dropFirst())).words
        }
        // `help nosuch` printed the top help and exited 0.
        if argv.first == "help", argv.count >= 2, !argv[1].hasPrefix("-"), !subcommands.contains(argv[1]) {
            throw unknownSubcommand(argv[1])
        }
        // These read no store, so a broken SECRETSFS_CONFIG must not stand in their way.
        guard let subcommand = argv.first, subcommands.contains(subcommand), !withoutStore.contains(subcommand) else {
            return argv
        }
        var configPath = OptionSpec.config.value(in: environment)
        if let index = argv.firstIndex(of: "--config"), index + 1 < argv.count {
            configPath = argv[index + 1]
        } else if let inline = argv.first(where: { $0.hasPrefix("--config=") }) {
            configPath = String(inline.dropFirst("--config=".count))
        }
        guard let configPath else { return argv }
        let file = try ConfigFile.load(configPath)
        var added = try file.arguments(for: subcommand, given: argv, environment: environment)
        if !argv.contains("--config"), !argv.contains(where: { $0.hasPrefix("--config=") }) {
            added += ["--config", configPath]
        }
        // Options go before a `--` that ends them, if there is one.
        if let end = argv.firstIndex(of: "--") {
            argv.insert(contentsOf: added, at: end)
        } else {
            argv += added
        }
        return argv
    }

    /// Names the closest subcommand, not the word typed: a first word may be a pasted value.
    static func unknownSubcommand(_ word: String) -> SecretError {
        let names = SecretsFSCommand.configuration.subcommands.map { $0._commandName }
        let near =
            names.map { ($0, editDistance($0, word)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
            ?? names.first { $0.hasPrefix(word) || word.hasPrefix($0) }
        return SecretError(
            .invalidArgument,
            "unknown subcommand" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (see secretsfs --help)")
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    static func fromMountHelper(_ argv: [String]) throws(SecretError) -> [String] {
        let source = argv[0]
        let mountpoint = argv[1]
        var result = ["mount", mountpoint]
        if backends.contains(source) { result += ["--backend", source] }
        let (words, foreground) = try expandingMountOptions(Array(argv.dropFirst(2)))
        result += words
        if !foreground, !result.contains("--daemon") { result.append("--daemon") }
        return result
    }

    /// `mount`'s `-o` words, in either form: each option that is one of ours (`cache_ttl=5m`,
    /// `cache-ttl=5m`, `direct_io`) becomes its flag; the rest stay, as one `-o`, for the kernel
    /// mount. `foreground` is mount.fuse3's word for "do not daemonize"; it is taken out and told.
    /// Words after a `--` are left alone.
    static func expandingMountOptions(_ argv: [String]) throws(SecretError) -> (words: [String], foreground: Bool) {
        var result: [String] = []
        var foreground = false
        var kernel: [String] = []
        var index = 0
        while index < argv.count {
            let word = argv[index]
            index += 1
            if word == "--" {
                result += argv[(index - 1)...]
                break
            }
            let given: String
            if word == "-o", index < argv.count {
                given = argv[index]
                index += 1
            } else if word.hasPrefix("-o="), word.count > 3 {
                given = String(word.dropFirst(3))
            } else if word.hasPrefix("-o"), !word.hasPrefix("-o="), word.count > 2 {
                given = String(word.dropFirst(2))
            } else {
                result.append(word)
                continue
            }
            for option in given.split(separator: ",").map(String.init) {
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                let key = parts[0].replacingOccurrences(of: "_", with: "-")
                if key == "foreground" {
                    foreground = true
                } else if let spec = OptionSpec.named(key), spec != .kernelOptions {
                    if spec.kind == .flag {
                        if parts.count == 1 || parts[1] == "true" { result.append("--\(key)") }
                    } else {
                        guard parts.count == 2 else {
                            throw SecretError(.invalidArgument, "mount option \(parts[0]) needs a value")
                        }
                        result += ["--\(key)", parts[1]]
                    }
                } else {
                    kernel.append(option)
                }
            }
        }
        // Before a `--`, if there is one, so the kernel's options stay options.
        if !kernel.isEmpty {
            let end = result.firstIndex(of: "--") ?? result.endIndex
            result.insert(contentsOf: ["-o", kernel.joined(separator: ",")], at: end)
        }
        return (result, foreground)
    }
}
