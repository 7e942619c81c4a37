// The rules engine: readings and a clock in; alerts, publishes and thermostat commands out.
// No I/O, no wall clock, no sleeping: `handle` reacts to an event, `tick` fires timers
// (`for`, `no_motion`, `stale`, cooldowns, thermostat fail-safes) when no event arrives.
// SPEC.md "rules" and "thermostats" is the contract.

public struct RuleEngine: Sendable {
    indirect enum Expression: Sendable {
        case leaf(Int)
        case all([Expression])
        case any([Expression])
        case not(Expression)
    }

    struct Rule: Sendable {
        let config: RuleConfig
        let expression: Expression
        var leaves: [ConditionLeaf]
        let cooldown: Int64
        /// Has a `rate` leaf, whose window must be trimmed before each evaluation.
        let hasRate: Bool
        /// The condition held at the last evaluation.
        var active = false
        /// Alerts and publishes have fired for this active period (false while a cooldown delays them).
        var fired = false
        var raised: [AlertData] = []
        var lastRaise: Int64? = nil
        /// Times the condition was evaluated (for /metrics).
        var evaluations = 0
    }

    /// A leaf to feed when a device reports: rule, leaf and the device's slot in that leaf.
    struct Feed: Sendable { var rule: Int; var leaf: Int; var slot: Int }

    var devices: [DeviceSlot]
    let deviceIndex: [String: Int]
    var rules: [Rule]
    public internal(set) var thermostats: [ThermostatController]
    let thermostatIndex: [String: Int]
    let feeds: [[Feed]]
    let rulesByDevice: [[Int]]
    let thermostatsByDevice: [[Int]]

    public init(config: GatewayConfig, start: RuleInstant) {
        let t = start.monotonic
        devices = config.devices.map { DeviceSlot(id: $0.id, location: $0.location, celsius: nil, lastSeen: t) }
        var index: [String: Int] = [:]
        for (i, d) in devices.enumerated() { index[d.id] = i }
        deviceIndex = index
        let ids = devices.map(\.id)

        var rules: [Rule] = []
        var feeds = Array(repeating: [Feed](), count: devices.count)
        var rulesByDevice = Array(repeating: [Int](), count: devices.count)
        for rule in config.rules {
            var leaves: [ConditionLeaf] = []
            func compile(_ c: Condition) -> Expression {
                func leaf(_ kind: ConditionLeaf.Kind, _ tag: String, _ selector: DeviceSelector?) -> Expression {
                    let matched = selector.map { s in ids.indices.filter { s.matches(ids[$0]) } } ?? []
                    leaves.append(ConditionLeaf(kind: kind, key: "\(leaves.count):\(tag):\(selector?.pattern ?? "")", devices: matched, start: t))
                    return .leaf(leaves.count - 1)
                }
                switch c {
                case .temperature(let s, let above, let below, let duration):
                    return leaf(.threshold(.temperatureReading, above: above, below: below, forMs: duration?.milliseconds ?? 0), "temperature", s)
                case .level(let type, let s, let above, let below, let duration):
                    return leaf(.threshold(type, above: above, below: below, forMs: duration?.milliseconds ?? 0), type.channelName, s)
                case .contact(let s, let open, let duration):
                    return leaf(.contact(open: open, forMs: duration?.milliseconds ?? 0), "contact", s)
                case .motion(let s): return leaf(.motion, "motion", s)
                case .noMotion(let s, let duration): return leaf(.noMotion(forMs: duration.milliseconds), "no_motion", s)
                case .stale(let s, let duration): return leaf(.stale(forMs: duration.milliseconds), "stale", s)
                case .rate(let s, let rises, let falls, let within):
                    return leaf(.rate(risesBy: rises, fallsBy: falls, withinMs: within.milliseconds), "rate", s)
                case .time(let after, let before, let weekdays):
                    return leaf(.time(after: after.minutes * 60, before: before.minutes * 60, weekdays: weekdays), "time", nil)
                case .all(let parts): return .all(parts.map(compile))
                case .any(let parts): return .any(parts.map(compile))
                case .not(let inner): return .not(compile(inner))
                }
            }
            let expression = compile(rule.condition)
            let r = rules.count
            for (l, leaf) in leaves.enumerated() {
                for (slot, d) in leaf.devices.enumerated() {
                    feeds[d].append(Feed(rule: r, leaf: l, slot: slot))
                    if rulesByDevice[d].last != r { rulesByDevice[d].append(r) }
                }
            }
            let hasRate = leaves.contains { if case .rate = $0.kind { return true } else { return false } }
            rules.append(Rule(config: rule, expression: expression, leaves: leaves, cooldown: rule.cooldown?.milliseconds ?? 0,
                              hasRate: hasRate))
        }
        self.rules = rules
        self.feeds = feeds
        self.rulesByDevice = rulesByDevice

        thermostats = config.thermostats.map { ThermostatController(config: $0, start: t) }
        var tIndex: [String: Int] = [:]
        var byDevice = Array(repeating: [Int](), count: devices.count)
        for (i, th) in config.thermostats.enumerated() {
            tIndex[th.name] = i
            if let d = index[th.device] { byDevice[d].append(i) }
        }
        thermostatIndex = tIndex
        thermostatsByDevice = byDevice
    }

    /// The thermostats' first commands (the actuators learn the state the controllers hold), then
    /// an evaluation of every rule, so a condition already true at start acts at once.
    public mutating func start(at now: RuleInstant) -> [RuleOutput] {
        var out: [RuleOutput] = []
        for i in thermostats.indices { out += thermostats[i].start(at: now) }
        out += tick(at: now)
        return out
    }

    /// After a reload: a thermostat named in `unchanged` (same actuator as before) keeps its
    /// output without a new command, so a reload neither toggles nor re-sends anything; new
    /// thermostats, and ones whose actuator moved, announce their state so the actuator follows.
    /// Then every rule is evaluated.
    public mutating func resume(at now: RuleInstant, unchanged: Set<String>) -> [RuleOutput] {
        var out: [RuleOutput] = []
        for i in thermostats.indices {
            if unchanged.contains(thermostats[i].config.name) {
                thermostats[i].update(at: now, into: &out)
            } else {
                out += thermostats[i].start(at: now)
            }
        }
        out += tick(at: now)
        return out
    }

    /// A reading or motion from a device. Events of other types, and from devices the config
    /// does not name, change nothing.
    public mutating func handle(_ event: Event, at now: RuleInstant) -> [RuleOutput] {
        guard let d = deviceIndex[event.subject] else { return [] }
        let t = now.monotonic
        var out: [RuleOutput] = []
        switch event.data {
        case .temperature(let celsius, _):
            devices[d].celsius = celsius
            devices[d].lastSeen = t
            for feed in feeds[d] { rules[feed.rule].leaves[feed.leaf].temperature(celsius, slot: feed.slot, at: t) }
            for i in thermostatsByDevice[d] { thermostats[i].reading(celsius, at: now, into: &out) }
        case .motion:
            devices[d].lastSeen = t
            for feed in feeds[d] { rules[feed.rule].leaves[feed.leaf].motion(slot: feed.slot, at: t) }
        case .humidity(let value, _), .pressure(let value, _), .battery(let value):
            switch event.type {
            case .humidityReading: devices[d].humidity = value
            case .pressureReading: devices[d].pressure = value
            case .batteryLevel: devices[d].battery = value
            case .temperatureReading, .motionDetected, .contactChanged, .alertRaised, .alertResolved, .thermostatCommand: break
            }
            devices[d].lastSeen = t
            for feed in feeds[d] { rules[feed.rule].leaves[feed.leaf].level(event.type, value, slot: feed.slot, at: t) }
        case .contact(let open, _):
            devices[d].contactOpen = open
            devices[d].lastSeen = t
            for feed in feeds[d] { rules[feed.rule].leaves[feed.leaf].contact(open: open, slot: feed.slot, at: t) }
        case .alertRaised, .alertResolved, .thermostatCommand:
            return []
        }
        for r in rulesByDevice[d] { evaluate(rule: r, at: now, into: &out) }
        return out
    }

    /// Fires what time alone changes: `for` durations reached, silence (`no_motion`, `stale`),
    /// time windows, cooldowns ending, thermostat fail-safes and held-back switches.
    public mutating func tick(at now: RuleInstant) -> [RuleOutput] {
        var out: [RuleOutput] = []
        for r in rules.indices { evaluate(rule: r, at: now, into: &out) }
        for i in thermostats.indices { thermostats[i].update(at: now, into: &out) }
        return out
    }

    /// A clean stop: every thermostat output goes off. The state saved after this resumes with
    /// min_off counting from now, so a quick restart does not short-cycle the heater.
    public mutating func shutDown(at now: RuleInstant) -> [RuleOutput] {
        var out: [RuleOutput] = []
        for i in thermostats.indices { thermostats[i].stop(at: now, into: &out) }
        return out
    }

    /// The next monotonic instant after `now` at which `tick` could change something; nil when
    /// only an event can. A replay ticks exactly there; `run` ticks there or every second.
    public func nextDeadline(after now: RuleInstant) -> Int64? {
        var next: Int64? = nil
        func consider(_ candidate: Int64?) {
            if let c = candidate, c > now.monotonic, c < (next ?? .max) { next = c }
        }
        for rule in rules {
            devices.withUnsafeBufferPointer { table in
                for leaf in rule.leaves { consider(leaf.nextDeadline(after: now, devices: table)) }
            }
            if rule.active, !rule.fired, let last = rule.lastRaise { consider(last + rule.cooldown) }
        }
        for th in thermostats { consider(th.nextDeadline(after: now.monotonic)) }
        return next
    }

    /// The config of the thermostat called `name`, for driving its actuator.
    public func thermostat(named name: String) -> ThermostatConfig? { thermostatIndex[name].map { thermostats[$0].config } }

    /// False for a config without rules and thermostats: nothing to save.
    public var hasState: Bool { !rules.isEmpty || !thermostats.isEmpty }

    /// Alerts currently raised, by rule (thermostat fail-safe alerts under `<thermostat>.stale`
    /// and `<thermostat>.max_run`).
    public var raisedAlerts: [AlertData] {
        rules.flatMap(\.raised) + thermostats.flatMap { [$0.staleAlert, $0.maxRunAlert].compactMap { $0 } }
    }

    /// Each rule's name and how often its condition has been evaluated, in config order.
    public var evaluationCounts: [(rule: String, count: Int)] { rules.map { ($0.config.name, $0.evaluations) } }

    // MARK: Evaluation

    private mutating func evaluate(rule r: Int, at now: RuleInstant, into out: inout [RuleOutput]) {
        rules[r].evaluations &+= 1
        let t = now.monotonic
        if rules[r].hasRate { for l in rules[r].leaves.indices { rules[r].leaves[l].expire(at: t) } }
        let (holds, binding) = rules[r].leaves.withUnsafeBufferPointer { leaves in
            devices.withUnsafeBufferPointer { table in Self.value(of: rules[r].expression, leaves: leaves, devices: table, at: now) }
        }
        if holds {
            if !rules[r].active {
                rules[r].active = true
                for action in rules[r].config.actions {
                    if case .thermostat(let name, let target, let mode) = action, let i = thermostatIndex[name] {
                        thermostats[i].setHold(.init(rule: rules[r].config.name, target: target, mode: mode), at: now, into: &out)
                    }
                }
            }
            if !rules[r].fired, rules[r].lastRaise.map({ t - $0 >= rules[r].cooldown }) ?? true {
                fire(rule: r, binding: binding, at: t, into: &out)
            }
        } else if rules[r].active {
            rules[r].active = false
            if rules[r].fired {
                let name = rules[r].config.name
                for alert in rules[r].raised { out.append(.event(subject: name, data: .alertResolved(alert))) }
                rules[r].raised = []
                rules[r].fired = false
            }
            for action in rules[r].config.actions {
                if case .thermostat(let name, _, _) = action, let i = thermostatIndex[name] {
                    thermostats[i].releaseHold(rule: rules[r].config.name, at: now, into: &out)
                }
            }
        }
    }

    private mutating func fire(rule r: Int, binding: Binding, at t: Int64, into out: inout [RuleOutput]) {
        let name = rules[r].config.name
        for action in rules[r].config.actions {
            switch action {
            case .alert(let severity, let message):
                let alert = AlertData(rule: name, severity: severity, message: render(message, rule: name, binding: binding))
                rules[r].raised.append(alert)
                out.append(.event(subject: name, data: .alertRaised(alert)))
            case .publish(let topic, let payload, let retain, let qos):
                out.append(.publish(topic: topic, payload: payload, retain: retain, qos: qos))
            case .thermostat:
                break
            }
        }
        rules[r].fired = true
        rules[r].lastRaise = t
    }

    /// Borrowed buffers, not arrays: evaluation runs per event and must not copy leaves or the engine.
    private static func value(of e: Expression, leaves: UnsafeBufferPointer<ConditionLeaf>, devices: UnsafeBufferPointer<DeviceSlot>,
                              at now: RuleInstant) -> (Bool, Binding) {
        switch e {
        case .leaf(let l):
            return leaves[l].evaluate(at: now, devices: devices)
        case .all(let parts):
            var binding: Binding = nil
            for p in parts {
                let (holds, b) = value(of: p, leaves: leaves, devices: devices, at: now)
                if !holds { return (false, nil) }
                if binding == nil { binding = b }
            }
            return (true, binding)
        case .any(let parts):
            for p in parts {
                let (holds, b) = value(of: p, leaves: leaves, devices: devices, at: now)
                if holds { return (true, b) }
            }
            return (false, nil)
        case .not(let inner):
            return (!value(of: inner, leaves: leaves, devices: devices, at: now).0, nil)
        }
    }

    /// `{device}`, `{celsius}`, `{humidity}`, `{pressure}`, `{battery}`, `{contact}`, `{location}`
    /// (the device that made the condition true; its id when it has no location) and `{rule}`.
    private func render(_ template: String, rule: String, binding: Binding) -> String {
        guard template.contains("{") else { return template }
        let device = binding.map { devices[$0] }
        var result = ""
        var name: String? = nil
        for c in template {
            if c == "{" { if let open = name { result += "{" + open }; name = ""; continue }
            if c == "}", let key = name {
                switch key {
                case "device": result += device?.id ?? "?"
                case "celsius": result += device?.celsius.map { JSONWriter.number(roundedCelsius($0)) } ?? "?"
                case "humidity": result += device?.humidity.map { JSONWriter.number(roundedReading($0)) } ?? "?"
                case "pressure": result += device?.pressure.map { JSONWriter.number(roundedReading($0)) } ?? "?"
                case "battery": result += device?.battery.map { JSONWriter.number(roundedReading($0)) } ?? "?"
                case "contact": result += device?.contactOpen.map { $0 ? "open" : "closed" } ?? "?"
                case "location": result += device.map { $0.location ?? $0.id } ?? "?"
                case "rule": result += rule
                default: result += "{\(key)}"
                }
                name = nil
                continue
            }
            if name != nil { name!.append(c) } else { result.append(c) }
        }
        if let open = name { result += "{" + open }
        return result
    }
}
