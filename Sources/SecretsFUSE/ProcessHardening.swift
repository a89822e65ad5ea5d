import CFUSE
import SecretsCore

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps secrets in the daemon's memory off swap. (Non-dumpable with no core file from the first
/// instruction: CProcessGuard.)
public enum ProcessHardening {
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
