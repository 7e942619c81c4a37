// "Stop" for a loop on one of our threads: a flag it checks, and a wake-up it can poll() on, so
// a sleep or a wait for input ends at once when the task that owns the loop is cancelled.

import Synchronization

public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    /// Readable from the moment the signal is set, for ever (never cleared).
    public let wakeup = Wakeup()

    public init() {}

    public var isSet: Bool { flag.load(ordering: .acquiring) }

    public func set() {
        flag.store(true, ordering: .releasing)
        wakeup.signal()
    }

    /// Sleeps up to `duration`; false when the signal was set (before or during the sleep).
    public func sleep(for duration: Duration) -> Bool {
        guard !isSet else { return false }
        _ = Wakeup.poll([wakeup.fd], timeout: duration)
        return !isSet
    }
}
