/// A child's status as `waitpid` reports it, read the one way every caller needs: the words for a
/// log line, the status a shell would show, and a non-zero status to exit with on its behalf.
public struct WaitStatus: Sendable, Equatable {
    public let raw: Int32

    public init(_ raw: Int32) { self.raw = raw }

    /// The signal that ended the child; nil when it exited.
    public var signal: Int32? { raw & 0x7f == 0 ? nil : raw & 0x7f }
    /// The code it exited with; nil when a signal ended it.
    public var exitCode: Int32? { signal == nil ? (raw >> 8) & 0xff : nil }

    /// "exited with status N" or "was killed by signal N", after the child's name.
    public var description: String {
        signal.map { "was killed by signal \($0)" } ?? "exited with status \(exitCode ?? 0)"
    }

    /// As a shell reports it: the code, or 128 + the signal.
    public var shellStatus: Int32 { signal.map { 128 + $0 } ?? exitCode ?? 0 }

    /// A status to exit with for a child that failed: its code, at least 1; 1 for a signal.
    public var failureStatus: Int32 { signal == nil ? max(1, exitCode ?? 1) : 1 }
}
