import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// DESIGN §1.4: `.versions/<name>/`, its ids and its labels.
enum VersionCases {
    static let all: [FileSystemCase] = [
        FileSystemCase(
            "a folder's .versions lists its secrets; each lists its versions with current and previous",
            .sample,
            [
                .lookup("openai/.versions") => .folder(),
                .readdir("openai/.versions") => .names([".", "..", "api_key"]),
                .lookup("openai/.versions/api_key") => .folder(),
                .readdir("openai/.versions/api_key") => .names([".", "..", "1", "2", "previous", "3", "current"]),
                .readlink("openai/.versions/api_key/current") => .text("3"),
                .readlink("openai/.versions/api_key/previous") => .text("2"),
                .lookup("openai/.versions/api_key/current") => .symlink(to: "3"),
            ]),
        FileSystemCase(
            "each version is a read-only file with that version's bytes",
            .sample,
            [
                .read("openai/.versions/api_key/1") => .text("sk-first-0000000001"),
                .read("openai/.versions/api_key/2") => .text("sk-second-000000002"),
                .read("openai/.versions/api_key/3") => .text("sk-current-00000003"),
                .lookup("openai/.versions/api_key/1") => .file(0o400, size: 19),
                .openForWriting("openai/.versions/api_key/1") => .errno(EROFS),
            ]),
        FileSystemCase(
            "a version that does not exist is ENOENT, as is .versions of a secret that does not",
            .sample,
            [
                .lookup("openai/.versions/api_key/9") => .errno(ENOENT),
                .lookup("openai/.versions/api_key/4") => .errno(ENOENT),
                .lookup("openai/.versions/api_key/latest") => .errno(ENOENT),
                .readdir("openai/.versions/nope") => .errno(ENOENT),
            ]),
        FileSystemCase(
            "a multi-field secret's version is a folder of the fields it had",
            .sample,
            [
                .readdir(".versions") => .names([".", "..", "db", "top"]),
                .lookup(".versions/db/1") => .folder(),
                .readdir(".versions/db/1") => .names([".", "..", "username"]),
                .readdir(".versions/db/2") => .names([".", "..", "password", "username"]),
                .read(".versions/db/2/password") => .text("hunter2-password"),
                .lookup(".versions/db/1/password") => .errno(ENOENT),
                .readlink(".versions/db/current") => .text("2"),
            ]),
        FileSystemCase(
            "--show-versions lists .versions in every folder",
            CaseSetup.sample.with { $0.options.showVersions = true },
            [
                .readdir("")
                    => .names([
                        ".", "..", "bin", "db", "openai", "top", ".versions", ".rotate", ".status", ".metrics",
                    ]),
                .readdir("openai") => .names([".", "..", "api_key", ".versions", ".rotate"]),
            ]),
        FileSystemCase(
            "a backend without versions has no .versions, and cannot rotate",
            CaseSetup.sample.with { $0.capabilities = [] },
            [
                .lookup("openai/.versions") => .errno(ENOENT),
                .lookup(".versions") => .errno(ENOENT),
                .read("openai/api_key") => .text("sk-current-00000003"),
                .write("openai/.rotate", "api_key\n") => .errno(EOPNOTSUPP),
                .read("openai/api_key") => .text("sk-current-00000003"),
            ]),
    ]
}
