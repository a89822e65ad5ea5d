#if canImport(Glibc)
    import Glibc
#endif

/// The program's own code and read-only data, handed back once the mount serves. No other process
/// maps this file, so every page of it the process touched counts as its private memory, and most
/// were touched once: starting, parsing the plan, starting the first worker (the kernel maps each
/// with 64 KiB of neighbours). `MADV_PAGEOUT` drops them; what the supervisor then runs (a heartbeat,
/// a reap, a worker's line) comes back on first use, from the page cache or the disk.
enum ProgramPages {
    /// Linux 5.4; in glibc's headers only under _GNU_SOURCE.
    private static let pageOut: Int32 = 21

    /// The mappings of this program's file that are never written (code, read-only data).
    static func release() {
        guard let maps = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(maps) }
        var exe = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard length > 0 else { return }
        let program = String(decoding: exe[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), maps) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // start-end perms offset dev inode path; the path is all from its first slash.
            guard let slash = text.firstIndex(of: "/"), text[slash...].dropLast(1) == program else { continue }
            let fields = text[..<slash].split(separator: " ")
            guard fields.count >= 2, !fields[1].contains("w"), case let range = fields[0].split(separator: "-"),
                range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                end > start
            else { continue }
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), pageOut)
        }
    }
}
