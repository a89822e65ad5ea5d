import SecretsCore
import SecretsFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// DESIGN §4: the errno a reader sees when the backend or the policy refuses, and §3's stale value
/// where the backend fails after a read.
enum RefusalCases {
    /// `openai/**` for alice alone, everything else for everyone.
    static let policed = CaseSetup.sample.with {
        $0.options.policy = AccessPolicy(rules: [.init(path: "openai/**", uids: [1001]), .init(path: "**")])
    }

    static let all: [FileSystemCase] = [
        FileSystemCase(
            "a backend that denies is EACCES, one that cannot be reached and has no stale value EIO",
            CaseSetup.sample.with { $0.refusals = ["db": .permissionDenied, "top": .unavailable] },
            [
                .read("db/password") => .errno(EACCES),
                .lookup("db") => .errno(EACCES),
                .read("top") => .errno(EIO),
                .getxattr("top", "user.secretsfs.version") => .errno(EIO),
                .read("openai/api_key") => .text("sk-current-00000003"),
            ]),
        FileSystemCase(
            "a backend that fails after a read serves the last value, marked stale",
            .sample,
            [
                .read("top") => .text("top-level-value-xyz"),
                .storeRefuses("top", .unavailable) => .succeeds,
                .advance(.seconds(301)) => .succeeds,
                .read("top") => .text("top-level-value-xyz"),
                .getxattr("top", "user.secretsfs.stale") => .text("true"),
                .getxattr("top", "user.secretsfs.ttl") => .text("0"),
                .read(".status") => .json([.atLeast("cache.stale_serves", 1)]),
            ]),
        FileSystemCase(
            "not found and denied are not hidden by a stale value",
            .sample,
            [
                .read("top") => .text("top-level-value-xyz"),
                .read("bin/blob") => .bytes(LayoutCases.blob),
                .storeRefuses("top", .notFound) => .succeeds,
                .storeRefuses("bin/blob", .permissionDenied) => .succeeds,
                .advance(.seconds(301)) => .succeeds,
                .read("top") => .errno(ENOENT),
                .read("bin/blob") => .errno(EACCES),
            ]),
        FileSystemCase(
            "the policy decides who opens a value, its versions and its xattrs",
            policed,
            [
                .read("openai/api_key").by(.alice) => .text("sk-current-00000003"),
                .read("openai/api_key").by(.bob) => .errno(EACCES),
                .read("openai/.versions/api_key/1").by(.bob) => .errno(EACCES),
                .getxattr("openai/api_key", "user.secretsfs.version").by(.bob) => .errno(EACCES),
                .getxattr("openai/api_key", "user.secretsfs.version").by(.alice) => .text("3"),
                .read("top").by(.bob) => .text("top-level-value-xyz"),
            ]),
        FileSystemCase(
            "a listing leaves out a folder the caller may open nothing in",
            policed,
            [
                .readdir("").by(.bob) => .names([".", "..", "bin", "db", "top", ".rotate", ".status", ".metrics"]),
                .readdir("").by(.alice)
                    => .names([
                        ".", "..", "bin", "db", "openai", "top", ".rotate", ".status", ".metrics",
                    ]),
            ]),
        FileSystemCase(
            "a rotation follows the policy",
            policed,
            [
                .write(".rotate", "openai/api_key").by(.bob) => .errno(EACCES),
                .storeVersions("openai/api_key") => .names(["1", "2", "3"]),
                .write(".rotate", "openai/api_key").by(.alice) => .count(14),
                .storeVersions("openai/api_key") => .names(["1", "2", "3", "4"]),
                .write(".rotate", "top").by(.bob) => .count(3),
            ]),
    ]
}
