// The one retry delay of the gateway: exponential, capped, with equal jitter (uniform in
// [cap/2, cap]), so many gateways restarting together do not retry in step and a delay never
// collapses to zero. Used for broker reconnects, serial ports reopening and devices restarting.

public struct Backoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    /// Attempts since the last reset.
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next delay: uniform in [cap/2, cap], cap = min(maximum, initial · 2^attempt).
    public mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let cap = ceiling
        attempt += 1
        let half = cap / 2
        return .milliseconds(half + Int64.random(in: 0...(cap - half), using: &random))
    }

    /// The cap of the next delay, in milliseconds.
    public var ceiling: Int64 {
        let exponent = min(attempt, 30)
        return min(maximum.milliseconds, max(1, initial.milliseconds) << exponent)
    }

    /// Back to the initial delay (the thing retried works again).
    public mutating func reset() { attempt = 0 }
}
