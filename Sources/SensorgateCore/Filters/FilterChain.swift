// One channel's filters at work: readings in, the values to publish out, with the time passed in
// (monotonic milliseconds; the core reads no clock). The pipeline owns one per filtered
// channel, offers it every reading and asks it at its deadlines for what is due.
//
// In this order:
//   offset, multiply | calibrate_linear, round   transform every reading
//   delta      a reading that moved less than `delta` from the last value published is held back
//   throttle   within `throttle` of the last publication a reading waits; a newer one replaces
//              it; the one waiting at the end of the interval is published then
//   heartbeat  a reading held back by delta is published once `heartbeat` has passed since the
//              last publication. Only readings actually read: a sensor that stopped reading is
//              not kept alive by repeating its last value, so `stale` rules and thermostat
//              fail-safes still see it stop.
//
// A reading that never becomes an event is counted by the caller: `held` (delta) and
// `replaced` (a waiting reading a newer one took the place of, or that a reading back inside the
// deadband made pointless).

public struct FilterChain: Sendable {
    public let spec: FilterSpec

    /// Why a reading did not become an event.
    public enum Reason: String, Sendable, CaseIterable {
        case delta, throttle
    }

    public struct Offer: Sendable, Equatable {
        public enum Action: Sendable, Equatable {
            /// Publish this value now.
            case publish(Double)
            /// Held back (never published as such; a heartbeat may repeat it later).
            case held(Reason)
            /// Waits for the throttle interval to end.
            case deferred
            /// The filters made it infinite or NaN (a calibration gone wrong): not a reading.
            case invalid
        }
        public var action: Action
        /// An earlier waiting reading that will now never be published (counted under throttle).
        public var replaced: Bool = false
    }

    /// A value due at a deadline: a throttled reading whose interval ended, or a heartbeat.
    public struct Due: Sendable, Equatable {
        public enum Cause: String, Sendable { case throttle, heartbeat }
        public var value: Double
        /// When the reading was made (nil: the gateway stamps it).
        public var time: Timestamp?
        public var cause: Cause
    }

    private struct Held: Sendable {
        var value: Double
        var time: Timestamp?
    }

    public private(set) var lastPublished: Double? = nil
    public private(set) var lastPublishedAt: Int64? = nil
    private var waiting: Held? = nil
    private var unsent: Held? = nil

    public init(spec: FilterSpec) { self.spec = spec }

    /// A reading (in the event's unit) read at `time`, offered at monotonic `now`.
    public mutating func offer(_ raw: Double, time: Timestamp? = nil, at now: Int64) -> Offer {
        let value = spec.transform(raw)
        guard value.isFinite else { return Offer(action: .invalid) }
        if let delta = spec.delta, let last = lastPublished, !Self.moved(value, from: last, by: delta) {
            // Back inside the deadband: a reading still waiting on the throttle is out of date.
            let replaced = waiting != nil
            waiting = nil
            unsent = Held(value: value, time: time)
            return Offer(action: .held(.delta), replaced: replaced)
        }
        if let throttle = spec.throttle, let at = lastPublishedAt, now - at < throttle.milliseconds {
            let replaced = waiting != nil
            waiting = Held(value: value, time: time)
            unsent = nil
            return Offer(action: .deferred, replaced: replaced)
        }
        published(value, at: now)
        return Offer(action: .publish(value))
    }

    /// What is due at `now`, one value at a time (call until nil).
    public mutating func due(at now: Int64) -> Due? {
        guard let at = lastPublishedAt else { return nil }
        if let held = waiting, let throttle = spec.throttle, now - at >= throttle.milliseconds {
            published(held.value, at: now)
            return Due(value: held.value, time: held.time, cause: .throttle)
        }
        if let held = unsent, let heartbeat = spec.heartbeat, now - at >= heartbeat.milliseconds,
           spec.throttle.map({ now - at >= $0.milliseconds }) ?? true {
            published(held.value, at: now)
            return Due(value: held.value, time: held.time, cause: .heartbeat)
        }
        return nil
    }

    /// The next instant `due` may return something; nil while nothing waits.
    public func nextDeadline() -> Int64? {
        guard let at = lastPublishedAt else { return nil }
        var next: Int64? = nil
        if waiting != nil, let throttle = spec.throttle { next = at + throttle.milliseconds }
        if unsent != nil, let heartbeat = spec.heartbeat {
            let beat = at + max(heartbeat.milliseconds, spec.throttle?.milliseconds ?? 0)
            next = min(next ?? beat, beat)
        }
        return next
    }

    private mutating func published(_ value: Double, at now: Int64) {
        lastPublished = value
        lastPublishedAt = now
        waiting = nil
        unsent = nil
    }

    /// |value - last| >= delta, allowing for binary fractions: 21.2 - 21.1 is 0.0999999999999979.
    static func moved(_ value: Double, from last: Double, by delta: Double) -> Bool {
        let tolerance = 1e-9 * max(1, abs(value), abs(last))
        return abs(value - last) >= delta - tolerance
    }
}
