// When a thread of ours last went round its loop: one atomic store per turn, so a watchdog can
// tell a loop that turns (each at least once a second, even when idle) from one that is wedged.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

public final class Heartbeat: Sendable {
    /// CLOCK_MONOTONIC milliseconds of the last beat; `Int64.min` before the first.
    private let last = Atomic<Int64>(.min)

    public init() {}

    /// Called once per loop turn by the thread that owns the loop.
    public func beat() {
        last.store(Self.now(), ordering: .relaxed)
    }

    /// The last beat (CLOCK_MONOTONIC ms), nil if the loop has not turned yet.
    public var lastBeat: Int64? {
        let value = last.load(ordering: .relaxed)
        return value == .min ? nil : value
    }

    /// Milliseconds since the last beat at `now`, nil if there was none.
    public func age(at now: Int64 = Heartbeat.now()) -> Int64? {
        lastBeat.map { now - $0 }
    }

    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
