import Logging
import SecretsSupervision

#if canImport(Glibc)
    import Glibc
#endif

/// `secretsfs mount`'s supervisor, exec'd by it once the mount is made: a program without
/// Foundation or SwiftNIO, so the process that lives as long as the mount holds a few MiB.
/// A synchronous main: an `async` one would park the main thread in `dispatch_main`, where it takes
/// the signals the supervisor's sources must read (`SupervisorSignals`).
@main
enum SuperviseMain {
    static func main() {
        SupervisorSignals.blockEverywhere()
        guard let plan = SupervisePlan(arguments: Array(CommandLine.arguments.dropFirst())) else {
            let line = "secretsfs-supervise: error: started by `secretsfs mount`, not by hand\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            exit(64)
        }
        LoggingSystem.bootstrap { LineLogHandler(label: $0, level: plan.logLevel, format: plan.logFormat) }
        let status = SupervisorSignals.wait {
            await SupervisorProcess.run(plan, logger: Logger(label: "secretsfs"), afterReady: ProgramPages.release)
        }
        exit(status)
    }
}
