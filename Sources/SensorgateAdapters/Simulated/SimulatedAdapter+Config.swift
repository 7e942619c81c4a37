// The `simulated` adapter's part of the config: its keys and settings (it makes readings itself,
// so it takes no reading spec and no profile) and how the gateway builds it for a device.
// Registered in AdapterRegistry.

import SensorgateCore

public struct SimulatedSettings: AdapterSettings {
    /// TemperatureReading or MotionDetected (`kind: temperature` or `kind: motion`).
    public var kind: EventType
    public var interval: Duration
    public var start: Double
    public var step: Double
    public var minimum: Double
    public var maximum: Double
    /// Motion: mean MotionDetected events per second.
    public var rate: Double
    public var seed: UInt64?
    public var failRate: Double

    public init(kind: EventType, interval: Duration, start: Double, step: Double, minimum: Double, maximum: Double,
                rate: Double, seed: UInt64?, failRate: Double) {
        self.kind = kind
        self.interval = interval
        self.start = start
        self.step = step
        self.minimum = minimum
        self.maximum = maximum
        self.rate = rate
        self.seed = seed
        self.failRate = failRate
    }

    public var eventType: EventType? { kind }
}

extension SimulatedAdapter: RegisteredAdapter {
    public static let definition = AdapterDefinition(
        name: "simulated", keys: ["kind", "interval", "start", "step", "min", "max", "rate", "seed", "fail_rate"],
        readings: .madeByAdapter(hint: "set 'kind: temperature' or 'kind: motion'")
    ) { s in
        guard let kindText = s.string("kind", required: "temperature or motion") else { return nil }
        let kind: EventType
        switch kindText {
        case "temperature": kind = .temperatureReading
        case "motion": kind = .motionDetected
        default:
            s.error("'kind' must be temperature or motion, got \(s.shown("kind"))", at: "kind")
            return nil
        }
        let start = s.double("start") ?? 20
        let step = s.double("step", in: 0 ... 1000) ?? 0.1
        let minimum = s.double("min") ?? start - 10
        let maximum = s.double("max") ?? start + 10
        if minimum > start || start > maximum, let at = ["min", "max", "start"].first(where: s.isSet) {
            s.error("simulated temperature needs min <= start <= max, got \(shown(minimum)) <= \(shown(start)) <= \(shown(maximum))", at: at)
        }
        let rate = s.double("rate") ?? 0.05
        if rate <= 0 || rate > 10_000, s.isSet("rate") {
            s.error("'rate' must be between 0 and 10000 events per second, got \(shown(rate))", at: "rate")
        }
        var seed: UInt64? = nil
        if let text = s.string("seed") {
            if let value = UInt64(text) { seed = value } else {
                s.error("'seed' must be a whole number of 0 or more, got \(s.shown("seed"))", at: "seed")
            }
        }
        let failRate = s.double("fail_rate") ?? 0
        if !(0...1).contains(failRate), s.isSet("fail_rate") {
            s.error("'fail_rate' must be between 0 and 1, got \(shown(failRate))", at: "fail_rate")
        }
        // 0s: readings as fast as the gateway takes them (benchmarks).
        let interval = s.duration("interval") ?? .seconds(1)
        return SimulatedSettings(kind: kind, interval: interval, start: start, step: step, minimum: minimum,
                                 maximum: maximum, rate: rate, seed: seed, failRate: failRate)
    }

    public static func make(_ device: DeviceConfig, settings: SimulatedSettings) throws -> SimulatedAdapter {
        SimulatedAdapter(deviceID: device.id, settings: settings, fallbackSeed: UInt64.random(in: .min ... .max))
    }

    /// A number as a person writes it: 2 not 2.0.
    private static func shown(_ value: Double) -> String { JSONWriter.number(value) }
}
