// Software debounce for kernels whose GPIO driver has no debounce support: after an edge is
// accepted, edges within `period` of it are contact bounce and swallowed, and an edge that does
// not change the level (a second rising without a falling between) is dropped. Uses the
// kernel's event timestamps, so it does not depend on when we got round to reading.

import SensorgateCore

public struct EdgeDebouncer: Sendable {
    public let periodNanoseconds: UInt64
    private var lastAccepted: UInt64? = nil
    private var level: LineEdge? = nil

    public init(period: Duration) {
        let (seconds, attoseconds) = period.components
        periodNanoseconds = UInt64(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }

    /// Whether `event` is a real edge.
    public mutating func accept(_ event: GPIOLineEvent) -> Bool {
        if let last = lastAccepted, event.timestampNanoseconds >= last, event.timestampNanoseconds - last < periodNanoseconds {
            return false
        }
        if level == event.edge {
            return false
        }
        lastAccepted = event.timestampNanoseconds
        level = event.edge
        return true
    }
}
