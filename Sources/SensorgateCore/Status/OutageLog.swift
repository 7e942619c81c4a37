// When a device's failures and recoveries reach the log: counted always, logged rarely.

/// The log policy for one device's read failures, as a pure state machine: the caller counts,
/// this says whether to log.
///
/// An outage logs its first failure and its recovery ("readings again"); failures in between
/// are logged at powers of ten of their count (10, 100, 1000…), so a dead sensor does not flood
/// the log. A device that fails again less than `settle` after it recovered does not start a
/// new outage in the log: a flapping sensor, or one dead channel of a BME280 whose other
/// channels keep reading (each of their readings is a recovery), logged a failure and a
/// recovery every interval. Its failures are then logged at powers of ten only, and its
/// recoveries not at all, until it has read for `settle` without a failure.
public struct OutageLog: Sendable, Equatable {
    /// How long a device must read without failing before a failure opens a new outage in the log.
    public static let settleMilliseconds: Int64 = 60_000

    private var failing = false
    /// The current outage's first failure was logged (so its recovery is too).
    private var opened = false
    private var recoveredAt: Int64?

    public init() {}

    /// A failure, the `count`th of its reason, at `now` (monotonic ms): true to log it.
    public mutating func failure(count: Int, at now: Int64) -> Bool {
        if !failing {
            failing = true
            opened = recoveredAt.map { now - $0 >= Self.settleMilliseconds } ?? true
            if opened { return true }
        }
        return isPowerOfTen(count)
    }

    /// A reading at `now` (monotonic ms): true to log the recovery, when it ends an outage whose
    /// start was logged.
    public mutating func reading(at now: Int64) -> Bool {
        guard failing else { return false }
        failing = false
        recoveredAt = now
        return opened
    }
}

/// 1, 10, 100, …: the counts at which a repeated condition is logged again.
public func isPowerOfTen(_ n: Int) -> Bool {
    var v = n
    while v >= 10, v % 10 == 0 { v /= 10 }
    return v == 1
}
