// The clock the rules engine and thermostats see: a monotonic reading for timers, the wall
// time for event stamps, and the local time of day for `time` conditions. Passed in, never
// read, so the engine is pure and a replay can run hours of events in milliseconds.

public struct LocalTime: Sendable, Hashable {
    /// Seconds since local midnight, 0..<86400.
    public var secondOfDay: Int
    public var weekday: Weekday

    public init(secondOfDay: Int, weekday: Weekday) {
        self.secondOfDay = secondOfDay
        self.weekday = weekday
    }

    /// The local time of `wall` in a zone `utcOffsetSeconds` east of UTC.
    public init(wall: Timestamp, utcOffsetSeconds: Int) {
        let seconds = Timestamp.floorDiv(wall.millisecondsSinceEpoch, 1000) + Int64(utcOffsetSeconds)
        let days = Timestamp.floorDiv(seconds, 86_400)
        secondOfDay = Int(seconds - days * 86_400)
        // 1970-01-01 was a Thursday.
        weekday = Weekday(rawValue: Int(((days + 4) % 7 + 7) % 7))!
    }
}

public struct RuleInstant: Sendable, Hashable {
    /// Milliseconds on a clock that never steps (CLOCK_BOOTTIME in `run`, the events' own time
    /// in a replay). Every timer (`for`, `no_motion`, `stale`, `min_on`, cooldown) uses it, so a
    /// wall-clock jump when NTP syncs neither fires nor stalls them.
    public var monotonic: Int64
    public var wall: Timestamp
    public var local: LocalTime

    public init(monotonic: Int64, wall: Timestamp, local: LocalTime) {
        self.monotonic = monotonic
        self.wall = wall
        self.local = local
    }

    /// A replay clock: monotonic and wall time are the same, local time is `utcOffsetSeconds` off UTC.
    public init(wall: Timestamp, utcOffsetSeconds: Int = 0) {
        self.init(monotonic: wall.millisecondsSinceEpoch, wall: wall, local: LocalTime(wall: wall, utcOffsetSeconds: utcOffsetSeconds))
    }
}

/// What the engine asks the gateway to do besides emitting events.
public enum RuleOutput: Sendable, Equatable {
    /// An event to give a seq and send like any reading (AlertRaised, AlertResolved, ThermostatCommand).
    case event(subject: String, data: EventData)
    /// A rule's `publish` action.
    case publish(topic: String, payload: String, retain: Bool, qos: Int)
}
