// Paces replays: `rate` tokens a second, at most `burst` saved up. Times are milliseconds on a
// monotonic clock; counted in thousandths of a token, so the long-run rate is exact.

public struct TokenBucket: Sendable, Equatable {
    public let rate: Int
    public let burst: Int
    /// Thousandths of a token.
    private var milli: Int64
    private var at: Int64?

    public init(rate: Int, burst: Int) {
        self.rate = max(1, rate)
        self.burst = max(1, burst)
        milli = Int64(max(1, burst)) * 1000
    }

    /// Whole tokens available now.
    public mutating func available(at now: Int64) -> Int {
        refill(at: now)
        return Int(milli / 1000)
    }

    public mutating func take(_ n: Int, at now: Int64) {
        refill(at: now)
        milli -= Int64(n) * 1000
    }

    /// When the next whole token is there.
    public mutating func nextToken(at now: Int64) -> Int64 {
        refill(at: now)
        if milli >= 1000 { return now }
        let missing = 1000 - milli
        return now + (missing + Int64(rate) - 1) / Int64(rate)
    }

    private mutating func refill(at now: Int64) {
        if let at, now > at { milli = min(Int64(burst) * 1000, milli + (now - at) * Int64(rate)) }
        at = max(at ?? now, now)
    }
}
