import Testing

@testable import SecretsSupervision

@Suite struct ControlMessageTests {
    @Test(arguments: [
        SupervisorOrder.serve(takeover: false), .serve(takeover: true), .ping, .retire, .stop,
    ])
    func everyOrderReadsBackAsItself(_ order: SupervisorOrder) {
        #expect(SupervisorOrder(line: order.line) == order)
        #expect(!order.line.contains("\n"))
    }

    @Test(arguments: [
        WorkerReport.prepared, .kernelInitialized, .ready, .pong, .error("no such mount"),
        .status("serving from local: 3 secrets served"),
    ])
    func everyReportReadsBackAsItself(_ report: WorkerReport) {
        #expect(WorkerReport(line: report.line) == report)
    }

    @Test func theWireWordsStayWhatOlderBuildsSend() {
        // A supervisor and a worker of different builds meet across a reload: the words are fixed.
        #expect(SupervisorOrder.serve(takeover: true).line == "SERVE takeover")
        #expect(WorkerReport.kernelInitialized.line == "INIT")
        #expect(WorkerReport(line: "ERROR the token was refused") == .error("the token was refused"))
    }

    @Test func anErrorOfSeveralLinesIsSentAsOne() {
        #expect(WorkerReport.error("first\nsecond").line == "ERROR first; second")
    }

    @Test func anUnknownLineIsNoMessage() {
        #expect(SupervisorOrder(line: "SERVE later") == nil)
        #expect(SupervisorOrder(line: "") == nil)
        #expect(WorkerReport(line: "READY now") == nil)
        #expect(WorkerReport(line: "ERROR") == nil)
    }

    @Test func onlyRetireAndStopEndAWorker() {
        #expect(SupervisorOrder.retire.endsTheWorker && SupervisorOrder.stop.endsTheWorker)
        #expect(!SupervisorOrder.ping.endsTheWorker && !SupervisorOrder.serve(takeover: false).endsTheWorker)
    }
}
