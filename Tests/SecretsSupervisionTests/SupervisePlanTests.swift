import SecretsTime
import Testing

@testable import SecretsSupervision

/// `secretsfs mount` hands the supervisor program its plan as argv across an exec: whatever the
/// mount's arguments hold must come back the same, and nothing else is taken for a plan.
@Suite struct SupervisePlanTests {
    private func plan(adopted: Bool, mountpoint: String = "/run/secrets", arguments: [String]) -> SupervisePlan {
        SupervisePlan(
            mountpoint: mountpoint, workerTimeout: .milliseconds(2500), logLevel: .debug, logFormat: .json,
            mount: SupervisedMount(fuse: 10, inodes: 11, cache: 12, credentials: 13, leases: 14, adopted: adopted),
            worker: "/usr/bin/secretsfs", workerArguments: arguments)
    }

    @Test(arguments: [false, true])
    func aPlanReadsBackAsItself(adopted: Bool) {
        let original = plan(
            adopted: adopted, mountpoint: "/mnt/a folder -- with --adopted",
            arguments: ["mount", "/mnt/a folder", "--", "--adopted", "--mountpoint", "-o", "store=/x,cache_ttl=5m"])
        #expect(SupervisePlan(arguments: original.arguments) == original)
    }

    @Test func theWorkerArgumentsFollowTheSeparatorAsGiven() {
        let arguments = plan(adopted: false, arguments: ["mount", "/m"]).arguments
        #expect(Array(arguments.suffix(4)) == ["--", "/usr/bin/secretsfs", "mount", "/m"])
        #expect(arguments.contains("10,11,12,13,14"))
        #expect(!arguments.contains("--adopted"))
    }

    @Test(arguments: [
        [String](), ["mount", "/m"], ["--mountpoint", "/m"],
        ["--mountpoint", "/m", "--worker-timeout-ms", "5000", "--log", "info,text", "--descriptors", "3,4,5,6,7"],
        [
            "--mountpoint", "/m", "--worker-timeout-ms", "5000", "--log", "loud,text", "--descriptors", "3,4,5,6,7",
            "--", "/bin/secretsfs",
        ],
        [
            "--mountpoint", "/m", "--worker-timeout-ms", "5000", "--log", "info,text", "--descriptors", "3,4,5",
            "--", "/bin/secretsfs",
        ],
        [
            "--mountpoint", "/m", "--worker-timeout-ms", "soon", "--log", "info,text", "--descriptors", "3,4,5,6,7",
            "--", "/bin/secretsfs",
        ],
        ["--mountpoint", "/m", "--unknown", "x", "--", "/bin/secretsfs"],
    ])
    func anythingElseIsNoPlan(_ arguments: [String]) {
        #expect(SupervisePlan(arguments: arguments) == nil)
    }
}

@Suite struct LineLogHandlerTests {
    @Test func theTimeIsTheDaemonsOneForm() {
        #expect(ISO8601.format(seconds: 1_800_000_000, milliseconds: 7) == "2027-01-15T08:00:00.007Z")
        #expect(ISO8601.format(seconds: 0, milliseconds: 999) == "1970-01-01T00:00:00.999Z")
    }

    @Test func aTextLineQuotesWhatWouldSplitIt() {
        let line = LineLogHandler.line(
            time: "T", level: "info", label: "secretsfs", message: "worker started",
            metadata: ["pid": "42", "reason": "said \"no\" = bad"], format: .text)
        #expect(line == #"T info secretsfs: worker started pid=42 reason="said \"no\" = bad""#)
    }

    @Test func aJSONLineEscapesEveryControlCharacter() {
        let line = LineLogHandler.line(
            time: "T", level: "error", label: "secretsfs", message: "a\"b\\c\nd\u{1}",
            metadata: ["message": "not this one", "pid": "7"], format: .json)
        #expect(line == #"{"level":"error","message":"a\"b\\c\nd\u0001","pid":"7","time":"T"}"#)
    }
}

/// `mount --daemon` waits for this one line from the daemon it started.
@Suite struct DaemonVerdictTests {
    @Test func daemonVerdictsSurviveThePipe() {
        let verdicts: [DaemonVerdict] = [
            .ready, .failed(status: 77, line: "vault refused the token (auth/token/lookup-self)"),
            .failed(status: 78, line: "config file /c.yaml: unknown key 'x'"), .failed(status: 69, line: ""),
        ]
        for verdict in verdicts { #expect(DaemonVerdict(decoding: verdict.encoded) == verdict) }
        // One line whatever the message holds; 0 would read as success.
        #expect(DaemonVerdict.failed(status: 0, line: "a\nb").encoded == "ERROR 1 a; b\n")
        for garbage in ["", "ERROR", "ERROR x line", "ERROR 0 line", "ERROR 300 line", "READY?"] {
            #expect(DaemonVerdict(decoding: garbage) == nil)
        }
    }
}
