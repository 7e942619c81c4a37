// Reconnect delays: exponential, with full jitter, capped. A connection that is kicked soon after
// it was made (a duplicate client id, a broker refusing us) does not reset the delay, so it can
// never turn into a tight reconnect loop; only a connection that stayed up resets it.

import SensorgateCore

public struct ReconnectBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    public let stableAfter: Duration
    private var attempt = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(60), stableAfter: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
        self.stableAfter = stableAfter
    }

    /// The delay before the next attempt: uniform in [cap/2, cap], cap = min(maximum, initial·2^attempt).
    public mutating func nextDelay<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let exponent = min(attempt, 30)
        attempt += 1
        let capMs = Double(min(maximum.milliseconds, initial.milliseconds << exponent))
        return .milliseconds(Int64(capMs / 2 + Double.random(in: 0...(capMs / 2), using: &random)))
    }

    /// Call when a connection ends after having been up for `uptime`.
    public mutating func connectionEnded(after uptime: Duration) {
        if uptime >= stableAfter { attempt = 0 }
    }
}
