import SecretsCore

/// A value's pages with its entry (docs/CACHE.md, "What the kernel keeps"): where the kernel opens
/// files without asking, a LOOKUP's reply carries the bytes a READ would fetch, for that version's
/// inode; wherever every open must reach the daemon, nothing.
enum PageCases {
    static let large = [UInt8](repeating: 7, count: 64 * 1024)

    static let all: [FileSystemCase] = [
        FileSystemCase(
            "a lookup of a value file hands the kernel its bytes, of the version it names",
            .sample,
            [
                .pagesWithEntry("top") => .text("top-level-value-xyz"),
                .pagesWithEntry("db/password") => .text("hunter2-password"),
                .pagesWithEntry("bin/blob") => .bytes(LayoutCases.blob),
                .pagesWithEntry("openai/.versions/api_key/1") => .text("sk-first-0000000001"),
                .pagesWithEntry("openai") => .bytes([]),
                .pagesWithEntry(".status") => .bytes([]),
                .pagesWithEntry("openai/.versions/api_key/current") => .bytes([]),
            ]),
        FileSystemCase(
            "with direct I/O nothing goes with the entry",
            CaseSetup.sample.with { $0.options.directIO = true },
            [.pagesWithEntry("top") => .bytes([]), .read("top") => .text("top-level-value-xyz")]),
        FileSystemCase(
            "with a policy nothing goes with the entry: the open is checked first",
            RefusalCases.policed,
            [.pagesWithEntry("top") => .bytes([]), .pagesWithEntry("openai/api_key").by(.alice) => .bytes([])]),
        FileSystemCase(
            "a value of 64 KiB goes with its entry, a larger one without",
            CaseSetup(seeds: [.bytes("big/edge", large), .bytes("big/over", large + [7])]),
            [.pagesWithEntry("big/edge") => .bytes(large), .pagesWithEntry("big/over") => .bytes([])]),
    ]
}
