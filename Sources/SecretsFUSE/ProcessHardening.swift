import CFUSE
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps secrets in the daemon's memory away from other users and from disk.
public enum ProcessHardening {
    /// Other users cannot ptrace the daemon or read its core dumps; no core file is written.
    public static func disableDumps() {
        _ = secretsfs_set_dumpable(0)
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    }

    /// Locks all memory, now and later, so values never reach swap.
    public static func lockMemory() throws(SecretError) {
        guard mlockall(Int32(MCL_CURRENT | MCL_FUTURE)) == 0 else {
            throw SecretError(
                .configuration,
                "--mlock: cannot lock memory (\(String(cString: strerror(errno)))); raise RLIMIT_MEMLOCK or run with CAP_IPC_LOCK"
            )
        }
    }
}
