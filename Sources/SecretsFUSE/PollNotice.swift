import CFUSE
import Synchronization

/// The kernel's handle for one waiting `poll`: told once that the descriptor became readable, then
/// destroyed; or destroyed unused. Either happens exactly once, from whichever thread comes first.
final class PollNotice: @unchecked Sendable {
    // An opaque libfuse pointer, touched only by the one call that wins `done`.
    private let handle: OpaquePointer
    private let done = Atomic<Bool>(false)

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    func send() {
        guard claim() else { return }
        _ = fuse_lowlevel_notify_poll(handle)
        fuse_pollhandle_destroy(handle)
    }

    func discard() {
        guard claim() else { return }
        fuse_pollhandle_destroy(handle)
    }

    private func claim() -> Bool {
        done.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    deinit { discard() }
}
