// One leaf of a rule's condition (`temperature`, `humidity`, `pressure`, `battery`, `contact`,
// `motion`, `no_motion`, `stale`, `rate`, `time`) with the state it needs between events: when a
// threshold or a contact state started to hold, when motion was last seen, the recent readings
// for a rate of change.

/// What the engine knows about one configured device.
struct DeviceSlot: Sendable {
    var id: String
    var location: String?
    var celsius: Double?
    var humidity: Double? = nil
    var pressure: Double? = nil
    var battery: Double? = nil
    var contactOpen: Bool? = nil
    /// Monotonic ms of the last reading or motion (the engine's start when none yet).
    var lastSeen: Int64
}

/// Which device made a condition true, for `{device}`, `{celsius}` and `{location}`.
typealias Binding = Int?

struct ConditionLeaf: Sendable {
    enum Kind: Sendable {
        /// `temperature`, `humidity`, `pressure`, `battery`: a reading of that type above/below.
        case threshold(EventType, above: Double?, below: Double?, forMs: Int64)
        /// `contact`: the contact is open (or closed).
        case contact(open: Bool, forMs: Int64)
        case motion
        case noMotion(forMs: Int64)
        case stale(forMs: Int64)
        case rate(risesBy: Double?, fallsBy: Double?, withinMs: Int64)
        case time(after: Int, before: Int, weekdays: Set<Weekday>?)  // seconds of the day
    }

    var kind: Kind
    /// Persistence key: position and shape, so a reload keeps the state of a leaf that is still there.
    var key: String
    /// Indexes into the engine's device table of the devices the selector matches.
    var devices: [Int]

    /// threshold, contact: per matched device, since when the condition has held without a break.
    var since: [Int64?]
    /// no_motion: the last motion from any matched device (the engine's start when none).
    var lastMotion: Int64 = 0
    var lastMotionDevice: Int? = nil
    /// motion: the device whose MotionDetected arrived at `pulseTime`. A `motion` condition holds
    /// only at that instant; the next evaluation (a tick 1 ms later at the earliest) ends it.
    var pulse: Int? = nil
    var pulseTime: Int64 = 0
    /// rate: per matched device, the extremes of the readings inside the window.
    var windows: [RateWindow]

    init(kind: Kind, key: String, devices: [Int], start: Int64) {
        self.kind = kind
        self.key = key
        self.devices = devices
        self.since = Array(repeating: nil, count: devices.count)
        self.windows = Array(repeating: RateWindow(), count: devices.count)
        self.lastMotion = start
    }

    // MARK: Input

    /// A reading of `type` (temperature, humidity, pressure, battery) from `devices[slot]`.
    mutating func level(_ type: EventType, _ value: Double, slot: Int, at now: Int64) {
        switch kind {
        case .threshold(let wanted, let above, let below, _) where wanted == type:
            let holds = (above.map { value > $0 } ?? true) && (below.map { value < $0 } ?? true)
            if holds { if since[slot] == nil { since[slot] = now } } else { since[slot] = nil }
        case .rate(_, _, let within) where type == .temperatureReading:
            windows[slot].expire(at: now, within: within)
            windows[slot].add(value, at: now)
        default:
            break
        }
    }

    /// A temperature reading from `devices[slot]`.
    mutating func temperature(_ celsius: Double, slot: Int, at now: Int64) {
        level(.temperatureReading, celsius, slot: slot, at: now)
    }

    /// A contact of `devices[slot]` changed (or said its state again).
    mutating func contact(open: Bool, slot: Int, at now: Int64) {
        guard case .contact(let wanted, _) = kind else { return }
        if open == wanted { if since[slot] == nil { since[slot] = now } } else { since[slot] = nil }
    }

    mutating func motion(slot: Int, at now: Int64) {
        switch kind {
        case .motion:
            pulse = devices[slot]
            pulseTime = now
        case .noMotion:
            lastMotion = now
            lastMotionDevice = devices[slot]
        default: break
        }
    }

    /// Drops rate readings that have left the window.
    mutating func expire(at now: Int64) {
        guard case .rate(_, _, let within) = kind else { return }
        for i in windows.indices { windows[i].expire(at: now, within: within) }
    }

    // MARK: Evaluation

    /// Whether the leaf holds at `now`, and which device made it so.
    func evaluate(at now: RuleInstant, devices table: UnsafeBufferPointer<DeviceSlot>) -> (Bool, Binding) {
        let t = now.monotonic
        switch kind {
        case .threshold(_, _, _, let forMs), .contact(_, let forMs):
            for (i, start) in since.enumerated() {
                if let start, t - start >= forMs { return (true, devices[i]) }
            }
            return (false, nil)
        case .motion:
            return pulse != nil && pulseTime == t ? (true, pulse) : (false, nil)
        case .noMotion(let forMs):
            return (t - lastMotion >= forMs, lastMotionDevice ?? (devices.count == 1 ? devices[0] : nil))
        case .stale(let forMs):
            for d in devices where t - table[d].lastSeen >= forMs { return (true, d) }
            return (false, nil)
        case .rate(let rises, let falls, _):
            for (i, window) in windows.enumerated() {
                guard let latest = window.latest, let low = window.minimum, let high = window.maximum else { continue }
                if let rises, latest - low >= rises - 1e-9 { return (true, devices[i]) }
                if let falls, high - latest >= falls - 1e-9 { return (true, devices[i]) }
            }
            return (false, nil)
        case .time(let after, let before, let weekdays):
            return (TimeWindow.contains(now.local, after: after, before: before, weekdays: weekdays), nil)
        }
    }

    /// The next monotonic instant after `now` at which this leaf could change without an event.
    func nextDeadline(after now: RuleInstant, devices table: UnsafeBufferPointer<DeviceSlot>) -> Int64? {
        let t = now.monotonic
        var next: Int64? = nil
        func consider(_ candidate: Int64) { if candidate > t, candidate < (next ?? .max) { next = candidate } }
        switch kind {
        case .threshold(_, _, _, let forMs), .contact(_, let forMs):
            for start in since { if let start { consider(start + forMs) } }
        case .motion:
            if pulse != nil { consider(pulseTime + 1) }
        case .noMotion(let forMs):
            consider(lastMotion + forMs)
        case .stale(let forMs):
            for d in devices { consider(table[d].lastSeen + forMs) }
        case .rate(_, _, let within):
            for window in windows { if let first = window.oldestTime() { consider(first + within + 1) } }
        case .time(let after, let before, let weekdays):
            let s = now.local.secondOfDay
            var boundaries = [after, before]
            if weekdays != nil { boundaries.append(0) }
            for b in boundaries {
                let delta = ((b % 86_400) - s + 86_400) % 86_400
                consider(t + Int64(delta == 0 ? 86_400 : delta) * 1000 - Int64(now.wall.millisecondsSinceEpoch % 1000))
            }
        }
        return next
    }
}

/// `time: { after, before, weekdays }` in local time. A window whose `after` is later than its
/// `before` crosses midnight, and then belongs to the weekday it starts on: a Friday-only
/// 23:00–06:00 window covers Saturday 02:00.
public enum TimeWindow {
    public static func contains(_ local: LocalTime, after: Int, before: Int, weekdays: Set<Weekday>?) -> Bool {
        let s = local.secondOfDay
        if after < before {
            return s >= after && s < before && (weekdays?.contains(local.weekday) ?? true)
        }
        if after == before { return weekdays?.contains(local.weekday) ?? true }
        if s >= after { return weekdays?.contains(local.weekday) ?? true }
        if s < before {
            let yesterday = Weekday(rawValue: (local.weekday.rawValue + 6) % 7)!
            return weekdays?.contains(yesterday) ?? true
        }
        return false
    }
}
