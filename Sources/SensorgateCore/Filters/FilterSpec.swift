// A channel's filters, as the config says them (`offset`, `multiply` or `calibrate_linear`,
// `round`, `delta`, `throttle`, `heartbeat`), in the event's unit (°C, %RH, hPa, %). Applied in
// that order by FilterChain.

public struct FilterSpec: Sendable, Equatable {
    /// Added first: a calibration offset.
    public var offset: Double?
    /// value × multiply, or a straight line through reference points (`calibrate_linear`).
    public var scale: Scale?
    /// Decimal places kept.
    public var round: Int?
    /// Deadband: a value is published only when it moved at least this much from the last one published.
    public var delta: Double?
    /// At most one value per this interval; the latest one held back is published when it ends.
    public var throttle: Duration?
    /// A value read but held back by `delta` is published at least this often.
    public var heartbeat: Duration?

    public enum Scale: Sendable, Equatable {
        case multiply(Double)
        /// y = slope × x + intercept, fitted (least squares) through `points` (measured, true).
        case linear(slope: Double, intercept: Double, points: [Point])
    }

    public struct Point: Sendable, Equatable {
        public var measured: Double
        public var actual: Double
        public init(measured: Double, actual: Double) {
            self.measured = measured
            self.actual = actual
        }
    }

    public init(offset: Double? = nil, scale: Scale? = nil, round: Int? = nil, delta: Double? = nil,
                throttle: Duration? = nil, heartbeat: Duration? = nil) {
        self.offset = offset
        self.scale = scale
        self.round = round
        self.delta = delta
        self.throttle = throttle
        self.heartbeat = heartbeat
    }

    public var isEmpty: Bool { self == FilterSpec() }

    /// True when some reading may not become an event at once (delta or throttle).
    public var holdsBack: Bool { delta != nil || throttle != nil }

    /// The straight line through two or more (measured, true) points, by least squares (exact for
    /// two); nil when every point has the same measured value (no line goes through them).
    public static func linear(through points: [Point]) -> Scale? {
        guard points.count >= 2 else { return nil }
        let n = Double(points.count)
        let mx = points.map(\.measured).reduce(0, +) / n
        let my = points.map(\.actual).reduce(0, +) / n
        var sxx = 0.0, sxy = 0.0
        for p in points {
            sxx += (p.measured - mx) * (p.measured - mx)
            sxy += (p.measured - mx) * (p.actual - my)
        }
        guard sxx > 0, sxx.isFinite, sxy.isFinite else { return nil }
        let slope = sxy / sxx
        return .linear(slope: slope, intercept: my - slope * mx, points: points)
    }

    /// offset, then multiply or calibrate_linear, then round.
    public func transform(_ value: Double) -> Double {
        var v = value + (offset ?? 0)
        switch scale {
        case .multiply(let m)?: v *= m
        case .linear(let slope, let intercept, _)?: v = slope * v + intercept
        case nil: break
        }
        if let places = round {
            var factor = 1.0
            for _ in 0..<places { factor *= 10 }
            v = (v * factor).rounded() / factor
        }
        return v
    }
}
