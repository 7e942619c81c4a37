// Drives a RuleEngine from recorded events, with the events' own times as the clock: between
// two events it ticks exactly at each deadline the engine names, so a `for: 2h` fires at its
// instant and hours of recordings replay in milliseconds. `sensorgate rules test` and the
// engine's tests both use it.

public struct RuleReplay: Sendable {
    public private(set) var engine: RuleEngine
    public private(set) var now: RuleInstant
    private let utcOffset: @Sendable (Timestamp) -> Int

    /// One output with the instant it was produced at.
    public struct Output: Sendable, Equatable {
        public var time: Timestamp
        public var output: RuleOutput
    }

    /// `utcOffset` gives the local zone's offset from UTC (seconds east) at a time, for `time` conditions.
    public init(config: GatewayConfig, start: Timestamp, utcOffset: @escaping @Sendable (Timestamp) -> Int = { _ in 0 }) {
        self.utcOffset = utcOffset
        let instant = RuleInstant(wall: start, utcOffsetSeconds: utcOffset(start))
        self.now = instant
        self.engine = RuleEngine(config: config, start: instant)
    }

    public mutating func start() -> [Output] {
        engine.start(at: now).map { Output(time: now.wall, output: $0) }
    }

    public mutating func restoreState(json: String, elapsed: Int64) -> [String] {
        engine.restoreState(json: json, at: now, elapsed: elapsed)
    }

    public func stateJSON() -> String { engine.stateJSON(at: now) }

    /// Ticks at every deadline up to and including `time`. Time never goes back: an earlier
    /// `time` (a recording out of order) is treated as now.
    public mutating func advance(to time: Timestamp) -> [Output] {
        var out: [Output] = []
        while let deadline = engine.nextDeadline(after: now), deadline <= time.millisecondsSinceEpoch {
            move(to: Timestamp(millisecondsSinceEpoch: deadline))
            out += engine.tick(at: now).map { Output(time: now.wall, output: $0) }
        }
        if time > now.wall { move(to: time) }
        return out
    }

    /// Advances to the event's time, then hands it to the engine.
    public mutating func feed(_ event: Event) -> [Output] {
        var out = advance(to: event.time)
        out += engine.handle(event, at: now).map { Output(time: now.wall, output: $0) }
        return out
    }

    /// A target or mode from Home Assistant at the present instant (see RuleEngine+HomeAssistant).
    public mutating func setFromHomeAssistant(thermostat: String, target: Double?, mode: ThermostatMode?)
        throws(RuleEngine.HomeAssistantRejection) -> [RuleOutput] {
        try engine.setFromHomeAssistant(thermostat: thermostat, target: target, mode: mode, at: now)
    }

    private mutating func move(to time: Timestamp) {
        now = RuleInstant(wall: time, utcOffsetSeconds: utcOffset(time))
    }
}
