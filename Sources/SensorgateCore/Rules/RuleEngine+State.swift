// Rule and thermostat state as JSON, saved in state_dir and restored at start (and carried
// across a SIGHUP reload), so a restart neither re-raises an alert nor forgets a running `for:`.
// Times are stored as ages before the save; monotonic clocks restart with the machine.

extension RuleEngine {
    static let stateVersion = 1.0

    /// The state worth keeping, as JSON text. `now` is the instant of the save.
    public func stateJSON(at now: RuleInstant) -> String {
        let t = now.monotonic
        func age(_ instant: Int64) -> JSONValue { .number(Double(t - instant)) }
        func alert(_ a: AlertData) -> JSONValue {
            .object(["rule": .string(a.rule), "severity": .string(a.severity.rawValue), "message": .string(a.message)])
        }
        var deviceState: [String: JSONValue] = [:]
        for d in devices {
            var o: [String: JSONValue] = ["seen_age": age(d.lastSeen)]
            if let c = d.celsius { o["celsius"] = .number(c) }
            if let v = d.humidity { o["humidity"] = .number(v) }
            if let v = d.pressure { o["pressure"] = .number(v) }
            if let v = d.battery { o["battery"] = .number(v) }
            if let v = d.contactOpen { o["open"] = .bool(v) }
            deviceState[d.id] = .object(o)
        }
        var ruleState: [String: JSONValue] = [:]
        for rule in rules {
            var leaves: [String: JSONValue] = [:]
            for leaf in rule.leaves {
                switch leaf.kind {
                case .threshold, .contact:
                    var since: [String: JSONValue] = [:]
                    for (slot, start) in leaf.since.enumerated() { if let start { since[devices[leaf.devices[slot]].id] = age(start) } }
                    leaves[leaf.key] = .object(["since_age": .object(since)])
                case .noMotion:
                    var o: [String: JSONValue] = ["motion_age": age(leaf.lastMotion)]
                    if let d = leaf.lastMotionDevice { o["device"] = .string(devices[d].id) }
                    leaves[leaf.key] = .object(o)
                default:
                    break
                }
            }
            var o: [String: JSONValue] = ["active": .bool(rule.active), "fired": .bool(rule.fired),
                                          "raised": .array(rule.raised.map(alert)), "leaves": .object(leaves)]
            if let last = rule.lastRaise { o["raise_age"] = age(last) }
            ruleState[rule.config.name] = .object(o)
        }
        var thermostatState: [String: JSONValue] = [:]
        for th in thermostats {
            let s = th.saved(at: t)
            var o: [String: JSONValue] = ["output": .bool(s.outputOn), "reading_age": .number(Double(s.readingAge))]
            if let a = s.switchAge { o["switch_age"] = .number(Double(a)) }
            if let c = s.celsius { o["celsius"] = .number(c) }
            o["holds"] = .array(s.holds.map { h in
                var ho: [String: JSONValue] = ["rule": .string(h.rule)]
                if let target = h.target { ho["target"] = .number(target) }
                if let mode = h.mode { ho["mode"] = .string(mode.rawValue) }
                return .object(ho)
            })
            if let a = s.staleAlert { o["stale_alert"] = alert(a) }
            if let a = s.maxRunAlert { o["max_run_alert"] = alert(a) }
            thermostatState[th.config.name] = .object(o)
        }
        var w = JSONWriter(capacity: 1024)
        w.value(.object(["version": .number(Self.stateVersion), "devices": .object(deviceState),
                         "rules": .object(ruleState), "thermostats": .object(thermostatState)]))
        return w.string
    }

    /// Why saved state cannot be used at all (not JSON, another version), nil when it can.
    public static func unusableState(_ text: String) -> String? {
        let root: JSONValue
        do { root = try JSONParser.parse(text) } catch { return "the saved rule state is not JSON (\(error))" }
        guard root["version"]?.doubleValue == Self.stateVersion else { return "the saved rule state has an unknown version" }
        return nil
    }

    /// Takes over saved state for the devices, rules and thermostats that still exist.
    /// `elapsed` is how long the gateway was stopped: cooldowns and thermostat switch times count
    /// it (the relay kept its state while nobody watched); silence timers (`for`, `no_motion`,
    /// `stale`) do not, because nothing could be heard then. Returns what could not be restored.
    @discardableResult
    public mutating func restoreState(json text: String, at now: RuleInstant, elapsed: Int64) -> [String] {
        if let problem = Self.unusableState(text) { return [problem + "; starting fresh"] }
        guard let root = try? JSONParser.parse(text) else { return [] }
        let t = now.monotonic
        let elapsed = max(0, elapsed)
        /// An age in ms from the file; nil for one that cannot be true (damaged state must not trap).
        func milliseconds(_ v: JSONValue?) -> Int64? {
            guard let ms = v?.doubleValue, ms.isFinite, ms >= 0, ms < 1e13 else { return nil }
            return Int64(ms)
        }
        func instant(_ v: JSONValue?, counting downtime: Bool = false) -> Int64? {
            guard let age = milliseconds(v) else { return nil }
            return t - age - (downtime ? elapsed : 0)
        }
        func alert(_ v: JSONValue?) -> AlertData? {
            guard let v, let rule = v["rule"]?.stringValue, let message = v["message"]?.stringValue,
                  let severity = v["severity"]?.stringValue.flatMap(AlertSeverity.init(rawValue:)) else { return nil }
            return AlertData(rule: rule, severity: severity, message: message)
        }
        var problems: [String] = []
        for (i, d) in devices.enumerated() {
            guard let saved = root["devices"]?[d.id] else { continue }
            if let seen = instant(saved["seen_age"]) { devices[i].lastSeen = min(seen, t) }
            devices[i].celsius = saved["celsius"]?.doubleValue
            devices[i].humidity = saved["humidity"]?.doubleValue
            devices[i].pressure = saved["pressure"]?.doubleValue
            devices[i].battery = saved["battery"]?.doubleValue
            if case .bool(let open)? = saved["open"] { devices[i].contactOpen = open }
        }
        for r in rules.indices {
            guard let saved = root["rules"]?[rules[r].config.name] else { continue }
            for l in rules[r].leaves.indices {
                let leaf = rules[r].leaves[l]
                guard let state = saved["leaves"]?[leaf.key] else { continue }
                switch leaf.kind {
                case .threshold, .contact:
                    for (slot, d) in leaf.devices.enumerated() {
                        rules[r].leaves[l].since[slot] = instant(state["since_age"]?[devices[d].id])
                    }
                case .noMotion:
                    if let m = instant(state["motion_age"]) { rules[r].leaves[l].lastMotion = m }
                    rules[r].leaves[l].lastMotionDevice = state["device"]?.stringValue.flatMap { deviceIndex[$0] }
                default:
                    break
                }
            }
            if case .bool(true)? = saved["active"] { rules[r].active = true }
            if case .bool(true)? = saved["fired"] { rules[r].fired = true }
            if case .array(let raised)? = saved["raised"] { rules[r].raised = raised.compactMap(alert) }
            rules[r].lastRaise = instant(saved["raise_age"], counting: true)
        }
        for i in thermostats.indices {
            let name = thermostats[i].config.name
            guard let saved = root["thermostats"]?[name] else { continue }
            guard case .bool(let on)? = saved["output"], let readingAge = milliseconds(saved["reading_age"]) else {
                problems.append("thermostat '\(name)': saved state is incomplete; starting with output off")
                continue
            }
            var holds: [ThermostatController.Hold] = []
            if case .array(let items)? = saved["holds"] {
                for h in items {
                    // A hold survives only while its rule exists and is still active; one set from
                    // Home Assistant stays until HA sets another.
                    guard let rule = h["rule"]?.stringValue,
                          rule == Self.homeAssistantHold || rules.contains(where: { $0.config.name == rule && $0.active }) else { continue }
                    holds.append(.init(rule: rule, target: h["target"]?.doubleValue,
                                       mode: h["mode"]?.stringValue.flatMap(ThermostatMode.init(rawValue:))))
                }
            }
            thermostats[i].restore(.init(outputOn: on, switchAge: milliseconds(saved["switch_age"]),
                                         readingAge: readingAge, celsius: saved["celsius"]?.doubleValue, holds: holds,
                                         staleAlert: alert(saved["stale_alert"]), maxRunAlert: alert(saved["max_run_alert"])),
                                   at: t, elapsed: elapsed)
        }
        return problems
    }
}
