import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Extended attributes (README, "Extended attributes"): metadata of a value, never the value; the
/// errno of each name that is not ours.
enum XattrCases {
    static let ours = ["version", "created", "backend", "stale", "ttl"].map { "user.secretsfs.\($0)" }

    static let all: [FileSystemCase] = [
        FileSystemCase(
            "a value file lists version, created, backend, stale and ttl",
            .sample,
            [
                .listxattr("openai/api_key") => .names(ours),
                .getxattr("openai/api_key", "user.secretsfs.version") => .text("3"),
                .getxattr("openai/api_key", "user.secretsfs.created") => .text("2023-11-14T22:13:22.000Z"),
                .getxattr("openai/api_key", "user.secretsfs.backend") => .text("memory"),
                .getxattr("openai/api_key", "user.secretsfs.stale") => .text("false"),
                .getxattr("openai/api_key", "user.secretsfs.ttl") => .text("300"),
                .listxattr("db/password") => .names(ours),
                .getxattr("db/password", "user.secretsfs.version") => .text("2"),
            ]),
        FileSystemCase(
            "a version file's xattrs describe that version",
            .sample,
            [
                .getxattr("openai/.versions/api_key/1", "user.secretsfs.version") => .text("1"),
                .getxattr("openai/.versions/api_key/1", "user.secretsfs.created") => .text("2023-11-14T22:13:20.000Z"),
                .getxattr(".versions/db/1/username", "user.secretsfs.version") => .text("1"),
            ]),
        FileSystemCase(
            "ttl counts down with the clock",
            .sample,
            [
                .getxattr("top", "user.secretsfs.ttl") => .text("300"),
                .advance(.seconds(60)) => .succeeds,
                .getxattr("top", "user.secretsfs.ttl") => .text("240"),
                .getxattr("top", "user.secretsfs.stale") => .text("false"),
            ]),
        FileSystemCase(
            "folders, links and control files have no xattrs",
            .sample,
            [
                .listxattr("openai") => .names([]),
                .listxattr("") => .names([]),
                .listxattr(".rotate") => .names([]),
                .listxattr(".status") => .names([]),
                .listxattr("openai/.versions/api_key/current") => .names([]),
                .getxattr("openai", "user.secretsfs.version") => .errno(ENODATA),
            ]),
        FileSystemCase(
            "a user. name not ours is ENODATA; other namespaces are EOPNOTSUPP, on every kind of node",
            .sample,
            ["openai/api_key", "openai", ".rotate", "openai/.versions", "openai/.versions/api_key/1"].flatMap { path in
                [
                    .getxattr(path, "user.secretsfs.nope") => .errno(ENODATA),
                    .getxattr(path, "user.other") => .errno(ENODATA),
                    .getxattr(path, "security.selinux") => .errno(EOPNOTSUPP),
                    .getxattr(path, "system.posix_acl_access") => .errno(EOPNOTSUPP),
                    .getxattr(path, "trusted.x") => .errno(EOPNOTSUPP),
                ]
            }),
        FileSystemCase(
            "xattrs of a missing file are ENOENT",
            .sample,
            [
                .getxattr("openai/nope", "user.secretsfs.version") => .errno(ENOENT),
                .listxattr("openai/nope") => .errno(ENOENT),
            ]),
    ]
}
