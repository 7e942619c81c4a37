// Paces replays: `rate` tokens a second, at most `burst` saved up. Times are milliseconds on a
// monotonic clock; fractions of a token carry over, so the long-run rate is exact.

public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var at: Int64?

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        tokens = max(1, burst)
    }

    /// Whole tokens available now.
    public mutating func available(at now: Int64) -> Int {
        refill(at: now)
        return Int(tokens)
    }

    public mutating func take(_ n: Int, at now: Int64) {
        refill(at: now)
        tokens -= Double(n)
    }

    /// When the next whole token is there.
    public mutating func nextToken(at now: Int64) -> Int64 {
        refill(at: now)
        if tokens >= 1 { return now }
        return now + Int64(((1 - tokens) * 1000 / rate).rounded(.up))
    }

    private mutating func refill(at now: Int64) {
        if let at, now > at { tokens = min(burst, tokens + Double(now - at) * rate / 1000) }
        at = max(at ?? now, now)
    }
}
