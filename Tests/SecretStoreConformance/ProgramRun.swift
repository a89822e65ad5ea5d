import Foundation

/// A program a test runs to its end, waited for on a thread of its own: the tests share a
/// cooperative pool as wide as the machine has cores (two in CI), and a test blocked in
/// `waitUntilExit` there holds up every other test's timers and event loops — a 1 s deadline was
/// seen to fire after 15 s while two tests waited for Python.
public struct ProgramRun: Sendable {
    public let status: Int32
    public let output: String

    /// Runs `executable` with `arguments`; its standard output is returned, never printed.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) async throws -> ProgramRun {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result { try blocking(executable, arguments, environment: environment, input: input) })
            }.start()
        }
    }

    /// `run`, on the calling thread: only for a caller that must stay synchronous (a rotation's
    /// `generate` closure).
    public static func blocking(
        _ executable: String, _ arguments: [String], environment: [String: String]?, input: String?
    ) throws -> ProgramRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProgramRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
