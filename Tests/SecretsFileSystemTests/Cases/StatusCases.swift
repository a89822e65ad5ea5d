import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// DESIGN §1.6: `.status` and `.metrics`, figures and never a value.
enum StatusCases {
    static let all: [FileSystemCase] = [
        FileSystemCase(
            ".status is JSON with the backend, health, uptime and cache figures",
            .sample,
            [
                .read("openai/api_key") => .text("sk-current-00000003"),
                .read("openai/api_key") => .text("sk-current-00000003"),
                .read(".status")
                    => .json([
                        .equals("backend", "memory"), .equals("address", "memory"), .equals("healthy", true),
                        .present("version"), .present("uptime_seconds"), .present("cache.entries"),
                        .atLeast("cache.hits", 1), .atLeast("cache.misses", 1), .present("cache.hit_rate"),
                        .equals("cache.stale_serves", 0), .atLeast("cache.backend_calls", 1),
                        .equals("errors_by_kind", .object([:])), .equals("last_errors", .array([])),
                        .equals("opens", "kernel"),
                    ]),
            ]),
        FileSystemCase(
            ".status records errors by path and kind, never a value",
            .sample,
            [
                .lookup("openai/missing_one") => .errno(ENOENT),
                .read(".status")
                    => .json([
                        .atLeast("errors_by_kind.not_found", 1),
                        .hasElement("last_errors", ["path": "openai/missing_one", "kind": "not_found"]),
                    ]),
            ]),
        FileSystemCase(
            ".status counts rotations by outcome",
            .sample,
            [
                .write(".rotate", "top") => .count(3),
                .write(".rotate", "nope") => .errno(ENOENT),
                .read("top") => .matches(RotateCases.newValue),
                .read(".status") => .json([.equals("rotations.ok", 1), .equals("rotations.error", 1)]),
            ]),
        FileSystemCase(
            ".status reports a backend that cannot be reached",
            CaseSetup.sample.with { $0.refusals = ["top": .unavailable] },
            [
                .read("top") => .errno(EIO),
                .read(".status")
                    => .json([
                        .atLeast("errors_by_kind.unavailable", 1),
                        .hasElement("last_errors", ["path": "top", "kind": "unavailable"]),
                    ]),
            ]),
        FileSystemCase(
            ".metrics is Prometheus text with the same figures, never a value",
            .sample,
            [
                .read("top") => .text("top-level-value-xyz"),
                .read("top") => .text("top-level-value-xyz"),
                .read(".metrics")
                    => .prometheus([
                        "secretsfs_backend_healthy{backend=\"memory\"}": 1...1,
                        "secretsfs_backend_calls_total": 1...1_000,
                        "secretsfs_cache_hits_total": 1...1_000,
                        "secretsfs_cache_misses_total": 1...1_000,
                        "secretsfs_cache_entries": 1...1_000,
                        "secretsfs_cache_stale_serves_total": 0...0,
                        "secretsfs_uptime_seconds": 0...1_000,
                    ]),
            ]),
        FileSystemCase(
            ".status and .metrics are only at the root, and read-only",
            .sample,
            [
                .lookup("db/.status") => .errno(ENOENT),
                .lookup("openai/.metrics") => .errno(ENOENT),
                .write(".status", "x") => .errno(EROFS),
                .write(".metrics", "x") => .errno(EROFS),
                .setattr(".status", truncateTo: 0, otherChanges: false) => .errno(EROFS),
            ]),
    ]
}
