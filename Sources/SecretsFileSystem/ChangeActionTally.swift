import Foundation
import Synchronization

/// What `.status` and `.metrics` show of one `on_change` action: counts and outcomes, never a value.
public struct ChangeActionFigures: Sendable, Equatable {
    /// The action's place in `on_change`, from 1, as the log names it.
    public var index: Int
    /// `exec`, `signal` or `systemd_unit`.
    public var kind: String
    public var runs = 0
    public var failures = 0
    /// The exit status of the last run of a program; nil for signals and for runs that never exited.
    public var lastExitStatus: Int32?
    /// Why the last run failed, as a short kind (`timeout`, `pid_file`, `no_process`, `spawn`, `exit`).
    public var lastFailure: String?
    public var lastRun: Date?

    public init(index: Int, kind: String) {
        self.index = index
        self.kind = kind
    }
}

/// The counts of every `on_change` action, written by the runner and read by `.status`/`.metrics`.
public final class ChangeActionTally: Sendable {
    private let figures: Mutex<[ChangeActionFigures]>

    public init(kinds: [String]) {
        figures = Mutex(kinds.enumerated().map { ChangeActionFigures(index: $0.offset + 1, kind: $0.element) })
    }

    /// Records one finished run of the action at `index` (from 1): `failure` nil when it succeeded.
    public func record(_ index: Int, at time: Date, exitStatus: Int32?, failure: String?) {
        figures.withLock { all in
            guard all.indices.contains(index - 1) else { return }
            all[index - 1].runs += 1
            if failure != nil { all[index - 1].failures += 1 }
            all[index - 1].lastExitStatus = exitStatus
            all[index - 1].lastFailure = failure
            all[index - 1].lastRun = time
        }
    }

    public var all: [ChangeActionFigures] { figures.withLock { $0 } }
}
