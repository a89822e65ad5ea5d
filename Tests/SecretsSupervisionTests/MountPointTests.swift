import Testing

@testable import SecretsSupervision

/// /proc files say they are empty, and a reader that trusts that (Foundation's
/// `String(contentsOfFile:)`) got one page: a mount listed past the first 4096 bytes of mountinfo
/// was not seen, and a restart under systemd mounted anew instead of serving the kept mount.
@Suite struct MountPointTests {
    @Test func aProcFileIsReadPastItsFirstPage() throws {
        // A process's memory map runs to tens of kilobytes: well past one page.
        let maps = try #require(MountPoint.procFile("/proc/self/maps"))
        #expect(maps.utf8.count > 4096)
        #expect(maps.hasSuffix("\n"))
        #expect(maps.split(separator: "\n").allSatisfy { $0.contains("-") })
    }

    @Test func aMissingFileIsNil() {
        #expect(MountPoint.procFile("/proc/self/no-such-file") == nil)
    }
}
