import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// DESIGN §1.5: `.rotate` lines, what a rotation changes, its history, and each bad line's errno.
enum RotateCases {
    static let newValue = "[A-Za-z0-9]{32}"

    static let all: [FileSystemCase] =
        [
            FileSystemCase(
                "a rotation through .rotate answers once stored; the next open sees the new version",
                .sample,
                [
                    .write("openai/.rotate", "api_key\n") => .count(8),
                    .read("openai/api_key") => .matches(newValue),
                    .lookup("openai/api_key") => .file(0o400, size: 32),
                    .readdir("openai/.versions/api_key")
                        => .names([
                            ".", "..", "1", "2", "3", "previous", "4", "current",
                        ]),
                    .readlink("openai/.versions/api_key/current") => .text("4"),
                    .readlink("openai/.versions/api_key/previous") => .text("3"),
                    .read("openai/.versions/api_key/3") => .text("sk-current-00000003"),
                    .storeVersions("openai/api_key") => .names(["1", "2", "3", "4"]),
                ]),
            FileSystemCase(
                "the root .rotate takes full paths, several lines in one write",
                .sample,
                [
                    .write(".rotate", "openai/api_key\n top \n\n") => .count(22),
                    .read("openai/api_key") => .matches(newValue),
                    .read("top") => .matches(newValue),
                    .storeVersions("top") => .names(["1", "2"]),
                ]),
            FileSystemCase(
                "rotating a field keeps the other fields",
                .sample,
                [
                    .write("db/.rotate", "password\n") => .count(9),
                    .read("db/username") => .text("alice-the-user"),
                    .read("db/password") => .matches(newValue),
                    .write(".rotate", "db/username") => .count(11),
                    .read("db/username") => .matches(newValue),
                    .readdir(".versions/db/3") => .names([".", "..", "password", "username"]),
                    .read(".versions/db/2/password") => .text("hunter2-password"),
                ]),
            FileSystemCase(
                "the new value's length is the generator's",
                CaseSetup.sample.with { $0.options.generator = PasswordGenerator(length: 48) },
                [
                    .write(".rotate", "top\n") => .count(4),
                    .read("top") => .matches("[A-Za-z0-9]{48}"),
                ]),
            FileSystemCase(
                "reading .rotate shows the rotations under its folder as JSON lines, never a value",
                .sample,
                [
                    .read("openai/.rotate") => .empty,
                    .write("openai/.rotate", "api_key\n") => .count(8),
                    .read("openai/api_key") => .matches(newValue),
                    .write("openai/.rotate", "missing\n") => .errno(ENOENT),
                    .read("openai/.rotate")
                        => .jsonLines([
                            [
                                .equals("path", "openai/api_key"), .equals("outcome", "ok"),
                                .equals("old_version", "3"), .equals("new_version", "4"), .present("time"),
                            ],
                            [
                                .equals("path", "openai/missing"), .differs("outcome", "ok"),
                                .absent("new_version"),
                            ],
                        ]),
                    .read("db/.rotate") => .empty,
                    .read(".rotate") => .jsonLines([[.equals("path", "openai/api_key")], [.present("outcome")]]),
                    .write("db/.rotate", "password") => .count(8),
                    .read("db/.rotate")
                        => .jsonLines([
                            [.equals("path", "db/password"), .equals("field", "password"), .equals("new_version", "3")]
                        ]),
                ]),
            FileSystemCase(
                "a write to a file that is not .rotate is EROFS, and so is any change of the tree",
                .sample,
                [
                    .openForWriting("openai/api_key") => .errno(EROFS),
                    .write("top", "x") => .errno(EROFS),
                    .openForWriting("db/password") => .errno(EROFS),
                    .openForWriting(".status") => .errno(EROFS),
                    .openForWriting(".metrics") => .errno(EROFS),
                    .setattr("top", truncateTo: 0, otherChanges: false) => .errno(EROFS),
                    .setattr("top", truncateTo: nil, otherChanges: true) => .errno(EROFS),
                    .setattr("openai", truncateTo: nil, otherChanges: true) => .errno(EROFS),
                    .setattr(".rotate", truncateTo: nil, otherChanges: true) => .errno(EROFS),
                    .setattr(".rotate", truncateTo: 5, otherChanges: false) => .errno(EROFS),
                    .change => .errno(EROFS),
                    .read("top") => .text("top-level-value-xyz"),
                ]),
            FileSystemCase(
                "a truncation of .rotate to nothing is accepted: it is how a shell opens it for `>`",
                .sample,
                [
                    .setattr("openai/.rotate", truncateTo: 0, otherChanges: false) => .file(0o600),
                    .openForWriting("openai/.rotate") => .succeeds,
                    .write("openai/.rotate", "api_key") => .count(7),
                ]),
            FileSystemCase(
                "a backend that denies the rotation is EACCES, one that cannot be reached EIO",
                CaseSetup.sample.with {
                    $0.refusals = ["top": .permissionDenied, "openai/api_key": .unavailable]
                },
                [
                    .write(".rotate", "top") => .errno(EACCES),
                    .write("openai/.rotate", "api_key") => .errno(EIO),
                    .storeVersions("db") => .names(["1", "2"]),
                ]),
            FileSystemCase(
                "a rotation stops at the first line that fails; lines before it are done",
                .sample,
                [
                    .write(".rotate", "top\nnope\nbin/blob\n") => .errno(ENOENT),
                    .storeVersions("top") => .names(["1", "2"]),
                    .storeVersions("bin/blob") => .names(["1"]),
                ]),
        ] + badLines.map(badLineCase)

    struct BadLine: Sendable {
        var what: String
        var folder: String
        var data: [UInt8]
        var errno: Int32
        /// Whether the history shows it: a line that names a path the mount could look up, not
        /// input refused before any path is read.
        var logged = false
    }

    /// Each bad `.rotate` write, where it is written, and its errno (DESIGN §1.5): nothing rotates.
    static let badLines: [BadLine] = [
        BadLine(what: "an unknown path", folder: "openai", data: Array("nope\n".utf8), errno: ENOENT, logged: true),
        BadLine(what: "an empty line", folder: "openai", data: Array("\n".utf8), errno: EINVAL),
        BadLine(what: "nothing", folder: "openai", data: [], errno: EINVAL),
        BadLine(what: "blank lines", folder: "openai", data: Array("\n\n  \n".utf8), errno: EINVAL),
        BadLine(
            what: "over 4 KiB", folder: "openai", data: Array(repeating: UInt8(ascii: "a"), count: 4097), errno: EINVAL),
        BadLine(what: "not UTF-8", folder: "openai", data: [0xff, 0xfe, 0x0a], errno: EINVAL),
        BadLine(what: "a control file's name", folder: "openai", data: Array(".status\n".utf8), errno: EINVAL),
        BadLine(what: "a reserved name", folder: "openai", data: Array(".versions\n".utf8), errno: EINVAL),
        BadLine(what: "a path out of its folder", folder: "openai", data: Array("../escape\n".utf8), errno: EINVAL),
        BadLine(what: "a NUL in a path", folder: "openai", data: Array("api\0key\n".utf8), errno: EINVAL),
        BadLine(what: "a folder", folder: "", data: Array("openai\n".utf8), errno: EINVAL, logged: true),
        BadLine(
            what: "a multi-field secret as a whole", folder: "", data: Array("db\n".utf8), errno: EINVAL, logged: true),
        BadLine(
            what: "a name over 255 bytes", folder: "openai", data: Array(repeating: UInt8(ascii: "k"), count: 256),
            errno: ENAMETOOLONG),
    ]

    static func badLineCase(_ line: BadLine) -> FileSystemCase {
        let rotate = line.folder.isEmpty ? ".rotate" : "\(line.folder)/.rotate"
        return FileSystemCase(
            ".rotate refuses \(line.what) with errno \(line.errno) and rotates nothing",
            .sample,
            [
                .write(rotate, line.data) => .errno(line.errno),
                .read("openai/api_key") => .text("sk-current-00000003"),
                .storeVersions("openai/api_key") => .names(["1", "2", "3"]),
                .storeVersions("db") => .names(["1", "2"]),
                .read(rotate) => .jsonLines(line.logged ? [[.differs("outcome", "ok"), .absent("new_version")]] : []),
            ])
    }
}
