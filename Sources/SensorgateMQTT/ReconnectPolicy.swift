// When to try the broker again, with no I/O: the gateway's one Backoff (exponential, equal
// jitter, capped), reset only by a connection that did its job. A connection that carried
// acknowledged traffic for a couple of seconds resets it (a broker restarted every 10-20 s is
// back within one step); one the broker drops right after CONNACK (a duplicate client id, an
// ACL) keeps backing off, so two gateways fighting over one client id never storm. Times are
// milliseconds on a monotonic clock.

import SensorgateCore

public struct ReconnectPolicy: Sendable {
    public private(set) var backoff: Backoff
    /// Acknowledged traffic and up this long: the connection worked.
    public let stableAfter: Int64
    /// Up this long: it worked, whatever it carried (an idle gateway).
    public let longAfter: Int64
    /// When the next attempt may start.
    public private(set) var nextAttempt: Int64 = 0
    /// Attempts that failed since the last connection that worked.
    public private(set) var failures = 0
    private var connectedAt: Int64? = nil
    private var carriedTraffic = false

    public init(backoff: Backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60)),
                stableAfter: Int64 = 2_000, longAfter: Int64 = 30_000) {
        self.backoff = backoff
        self.stableAfter = stableAfter
        self.longAfter = longAfter
    }

    public mutating func connected(at now: Int64) {
        connectedAt = now
        carriedTraffic = false
    }

    /// A PUBACK (or SUBACK) arrived on this connection.
    public mutating func acknowledged() { carriedTraffic = true }

    /// The attempt failed or the connection ended; returns the delay before the next attempt.
    public mutating func ended<R: RandomNumberGenerator>(at now: Int64, using random: inout R) -> Duration {
        if let since = connectedAt {
            let up = now - since
            if (carriedTraffic && up >= stableAfter) || up >= longAfter {
                backoff.reset()
                failures = 0
            }
        } else {
            failures += 1
        }
        connectedAt = nil
        carriedTraffic = false
        let delay = backoff.next(using: &random)
        nextAttempt = now + delay.milliseconds
        return delay
    }

    /// Try again now (new settings after a reload).
    public mutating func retryNow(at now: Int64) {
        backoff.reset()
        nextAttempt = now
    }
}
