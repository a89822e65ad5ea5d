import Logging
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// `secretsfs mount`'s supervisor, exec'd by it once the mount is made: a program without
/// Foundation or SwiftNIO, so the process that lives as long as the mount holds a few MiB.
@main
enum SuperviseMain {
    static func main() async {
        guard let plan = SupervisePlan(arguments: Array(CommandLine.arguments.dropFirst())) else {
            let line = "secretsfs-supervise: error: started by `secretsfs mount`, not by hand\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            exit(64)
        }
        // The signal mask survives an exec: whatever thread of `mount` made it may have blocked some,
        // and the supervisor lives on SIGCHLD, SIGTERM and SIGHUP.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        LoggingSystem.bootstrap { LineLogHandler(label: $0, level: plan.logLevel, format: plan.logFormat) }
        let status = await SupervisorProcess.run(plan, logger: Logger(label: "secretsfs"))
        exit(status)
    }
}
