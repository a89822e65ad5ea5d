import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// DESIGN §1, §1.1–§1.3: files, folders, fields, names, modes and owners.
enum LayoutCases {
    static let blob: [UInt8] = [0, 1, 2, 255, 254, 10, 0]

    static let all: [FileSystemCase] = [
        FileSystemCase(
            "a secret file holds its exact bytes, no newline added, and stat shows their length",
            .sample,
            [
                .lookup("openai/api_key") => .file(0o400, size: 19),
                .read("openai/api_key") => .text("sk-current-00000003"),
                .lookup("bin/blob") => .file(0o400, size: 7),
                .read("bin/blob") => .bytes(blob),
            ]),
        FileSystemCase(
            "fstat then one read of that size gets everything, and the next read nothing",
            .sample,
            [
                .getattr("top") => .file(0o400, size: 19),
                .read("top", offset: 0, size: 19) => .text("top-level-value-xyz"),
                .read("top", offset: 19, size: 10) => .empty,
                .read("openai/api_key", offset: 3, size: 7) => .text("current"),
            ]),
        FileSystemCase(
            "files are 0400 and folders 0500, owned by the mount's uid and gid; control files keep their modes",
            .sample,
            [
                .lookup("openai/api_key") => .file(0o400, uid: 7, gid: 8),
                .lookup("db/password") => .file(0o400, uid: 7, gid: 8),
                .lookup("openai") => .folder(0o500, uid: 7, gid: 8),
                .lookup("db") => .folder(0o500),
                .getattr("") => .folder(0o500),
                .lookup("openai/.rotate") => .file(0o600),
                .lookup(".rotate") => .file(0o600),
                .lookup(".status") => .file(0o444),
                .lookup(".metrics") => .file(0o444),
            ]),
        FileSystemCase(
            "--uid, --gid, --file-mode and --dir-mode set owner and modes of files, fields, versions and folders",
            CaseSetup.sample.with {
                $0.options.uid = 1234
                $0.options.gid = 4321
                $0.options.fileMode = 0o440
                $0.options.dirMode = 0o550
            },
            [
                .lookup("openai/api_key") => .file(0o440, uid: 1234, gid: 4321),
                .lookup("db/username") => .file(0o440, uid: 1234, gid: 4321),
                .lookup("openai/.versions/api_key/1") => .file(0o440, uid: 1234, gid: 4321),
                .lookup("openai") => .folder(0o550, uid: 1234, gid: 4321),
                .lookup("openai/.versions/api_key") => .folder(0o550, uid: 1234, gid: 4321),
                .lookup(".status") => .file(0o444, uid: 1234, gid: 4321),
            ]),
        FileSystemCase(
            "mtime is when the shown version was created at the backend",
            .sample,
            [
                .lookup("openai/api_key") => .file(0o400, modified: 1_700_000_002),
                .lookup("openai/.versions/api_key/1") => .file(0o400, modified: 1_700_000_000),
                .lookup("db/password") => .file(0o400, modified: 1_700_000_001),
                .lookup("top") => .file(0o400, modified: 1_700_000_000),
            ]),
        FileSystemCase(
            "the root lists secrets, folders and its control files, not .versions",
            .sample,
            [
                .readdir("") => .names([".", "..", "bin", "db", "openai", "top", ".rotate", ".status", ".metrics"]),
                .readdir("openai") => .names([".", "..", "api_key", ".rotate"]),
                .readdir("bin") => .names([".", "..", "blob", ".rotate"]),
            ]),
        FileSystemCase(
            "a multi-field secret is a folder of its fields",
            .sample,
            [
                .lookup("db") => .folder(),
                .readdir("db") => .names([".", "..", "password", "username", ".rotate"]),
                .read("db/username") => .text("alice-the-user"),
                .read("db/password") => .text("hunter2-password"),
                .lookup("db/password") => .file(0o400, size: 16),
            ]),
        FileSystemCase(
            "a field that collides with a child secret is hidden; the entries merge",
            CaseSetup(seeds: [
                .fields("svc", ["user": "field-user-0001", "key": "field-key-00001"]),
                .value("svc/key", "child-secret-001"),
                .value("svc/other", "child-other-001"),
            ]),
            [
                .readdir("svc") => .names([".", "..", "key", "other", "user", ".rotate"]),
                .read("svc/key") => .text("child-secret-001"),
                .read("svc/user") => .text("field-user-0001"),
            ]),
        FileSystemCase(
            "inode numbers are stable for a path while the mount lives",
            .sample,
            [
                (.lookup("openai/api_key") => .file(0o400)).tagged("key"),
                .readdir("openai") => .names([".", "..", "api_key", ".rotate"]),
                .lookup("openai/api_key") => .sameInode(as: "key"),
                .getattr("openai/api_key") => .sameInode(as: "key"),
                (.lookup("openai") => .folder()).tagged("folder"),
                .lookup("openai") => .sameInode(as: "folder"),
            ]),
        FileSystemCase(
            "unknown names, dot names and control files outside their folder are ENOENT",
            .sample,
            [
                .lookup("nope") => .errno(ENOENT),
                .lookup(".hidden") => .errno(ENOENT),
                .lookup("openai/nope") => .errno(ENOENT),
                .lookup("db/nofield") => .errno(ENOENT),
                .lookup("openai/.status") => .errno(ENOENT),
                .lookup("openai/.metrics") => .errno(ENOENT),
                .lookup("openai/.events") => .errno(ENOENT),
                .read("openai/nope") => .errno(ENOENT),
            ]),
        FileSystemCase(
            "a name over 255 bytes is ENAMETOOLONG; 255 bytes is a name like any other",
            .sample,
            [
                .lookup(String(repeating: "a", count: 256)) => .errno(ENAMETOOLONG),
                .lookup("openai/" + String(repeating: "a", count: 256)) => .errno(ENAMETOOLONG),
                .lookup(String(repeating: "a", count: 255)) => .errno(ENOENT),
            ]),
        FileSystemCase(
            "a secret of 255 bytes' name is shown and read",
            CaseSetup(seeds: [.value("long/" + String(repeating: "m", count: 255), "value-of-long-name")]),
            [
                .read("long/" + String(repeating: "m", count: 255)) => .text("value-of-long-name"),
                .readdir("long") => .names([".", "..", String(repeating: "m", count: 255), ".rotate"]),
            ]),
        FileSystemCase(
            "a field whose name cannot be a file name is skipped, not fatal",
            CaseSetup(seeds: [
                .fields("odd", [".hidden": "dot-field-value", "a/b": "slash-field-v", "ok": "fine-value"])
            ]),
            [
                .readdir("odd") => .names([".", "..", "ok", ".rotate"]),
                .read("odd/ok") => .text("fine-value"),
            ]),
        FileSystemCase(
            "the daemon refuses what the kernel answers itself: a read of a folder, a listing of a file",
            .sample,
            [
                .read("openai") => .errno(EINVAL),
                .readdir("top") => .errno(EINVAL),
                .readlink("top") => .errno(EINVAL),
                .lookup("top/below") => .errno(ENOENT),
            ]),
    ]
}
