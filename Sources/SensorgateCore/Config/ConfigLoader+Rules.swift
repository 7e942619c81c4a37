// `rules:` and `thermostats:`: conditions, actions and every reference they make to devices and
// thermostats, checked here so the rules engine never meets a dangling name.

extension ConfigLoading {
    static let ruleKeys = ["name", "when", "then", "cooldown"]
    static let conditionKeys = ["temperature", "humidity", "pressure", "battery", "contact", "motion", "no_motion", "stale", "rate",
                                "time", "all", "any", "not"]
    static let thermostatKeys = ["name", "device", "mode", "target", "hysteresis", "min_on", "min_off", "stale_after",
                                 "max_run", "actuator"]
    static let alertPlaceholders = ["device", "celsius", "location", "rule", "humidity", "pressure", "battery", "contact"]

    func loadRules(_ v: YAMLValue, devices: [DeviceRef], thermostats: [String], hasMQTT: Bool) -> [RuleConfig] {
        guard let items = reader.sequence(v, "'rules'") else { return [] }
        var rules: [RuleConfig] = []
        var seen: [String: SourceLocation] = [:]
        for item in items {
            guard let entries = reader.mapping(item, "a rule") else { continue }
            reader.checkKeys(entries, allowed: Self.ruleKeys, in: "a rule")
            let t = EntryTable(entries)
            guard let nv = t["name"] else {
                reader.error("a rule needs a 'name' (letters, digits, '_' and '-'; it is the alerts' subject)", at: item.location)
                continue
            }
            guard let name = reader.identifier(nv, "name") else { continue }
            if let first = seen[name] {
                reader.error("duplicate rule name '\(name)' (first defined at \(first))", at: nv.location)
                continue
            }
            seen[name] = nv.location
            let errorsBefore = reader.diagnostics.errorCount
            var condition: Condition? = nil
            if let wv = t["when"] {
                condition = loadCondition(wv, rule: name, devices: devices)
            } else {
                reader.error("rule '\(name)' needs 'when', a condition such as { temperature: { device: cpu, above: 70 } }", at: item.location)
            }
            var actions: [RuleAction] = []
            if let tv = t["then"] {
                actions = loadActions(tv, rule: name, thermostats: thermostats, hasMQTT: hasMQTT)
            } else {
                reader.error("rule '\(name)' needs 'then', a list of actions (alert, publish, thermostat)", at: item.location)
            }
            let cooldown = t["cooldown"].flatMap { reader.duration($0, "cooldown") }
            if let condition, reader.diagnostics.errorCount == errorsBefore {
                rules.append(RuleConfig(name: name, condition: condition, actions: actions, cooldown: cooldown))
            }
        }
        return rules
    }

    // MARK: Conditions

    func loadCondition(_ v: YAMLValue, rule: String, devices: [DeviceRef]) -> Condition? {
        guard let entries = reader.mapping(v, "a condition") else { return nil }
        guard entries.count == 1, let entry = entries.first else {
            reader.error("a condition has exactly one key (\(Self.conditionKeys.joined(separator: ", "))); use 'all' or 'any' to combine several",
                         at: v.location)
            return nil
        }
        guard Self.conditionKeys.contains(entry.key) else {
            reader.error("unknown condition '\(entry.key)'\(Suggestion.didYouMean(entry.key, among: Self.conditionKeys))",
                         at: entry.keyValue.location)
            return nil
        }
        let body = entry.value
        switch entry.key {
        case "all", "any":
            guard let items = reader.sequence(body, "'\(entry.key)'") else { return nil }
            if items.isEmpty {
                reader.error("'\(entry.key)' needs at least one condition", at: body.location)
                return nil
            }
            let parts = items.map { loadCondition($0, rule: rule, devices: devices) }
            guard parts.allSatisfy({ $0 != nil }) else { return nil }
            return entry.key == "all" ? .all(parts.map { $0! }) : .any(parts.map { $0! })
        case "not":
            return loadCondition(body, rule: rule, devices: devices).map { .not($0) }
        case "time":
            return loadTimeCondition(body)
        default:
            return loadDeviceCondition(entry.key, body, rule: rule, devices: devices)
        }
    }

    /// The reading a threshold condition (`temperature: { above, below }` and its kin) looks at.
    static let thresholdConditions: [String: EventType] = ["temperature": .temperatureReading, "humidity": .humidityReading,
                                                            "pressure": .pressureReading, "battery": .batteryLevel]

    private func loadDeviceCondition(_ kind: String, _ body: YAMLValue, rule: String, devices: [DeviceRef]) -> Condition? {
        let keys: [String]
        switch kind {
        case "temperature", "humidity", "pressure", "battery": keys = ["device", "above", "below", "for"]
        case "contact": keys = ["device", "open", "for"]
        case "motion": keys = ["device"]
        case "no_motion", "stale": keys = ["device", "for"]
        default: keys = ["device", "rises_by", "falls_by", "within"]  // rate
        }
        guard let entries = reader.mapping(body, "'\(kind)'") else { return nil }
        reader.checkKeys(entries, allowed: keys, in: "'\(kind)'")
        let t = EntryTable(entries)
        let errorsBefore = reader.diagnostics.errorCount
        let needs: EventType?
        switch kind {
        case "rate": needs = .temperatureReading
        case "motion", "no_motion": needs = .motionDetected
        case "contact": needs = .contactChanged
        case "stale": needs = nil
        default: needs = Self.thresholdConditions[kind]
        }
        guard let dv = t["device"] else {
            reader.error("'\(kind)' needs 'device', a device id or a glob such as room-*", at: body.location)
            return nil
        }
        guard let selector = resolveDevice(dv, needs: needs, condition: kind, rule: rule, devices: devices) else { return nil }
        func requiredDuration(_ key: String) -> Duration? {
            guard let fv = t[key] else {
                reader.error("'\(kind)' needs '\(key)', a duration such as 10m", at: body.location)
                return nil
            }
            return reader.duration(fv, key)
        }
        switch kind {
        case "temperature", "humidity", "pressure", "battery":
            let above = t["above"].flatMap { reader.double($0, "above") }
            let below = t["below"].flatMap { reader.double($0, "below") }
            if t["above"] == nil, t["below"] == nil {
                reader.error("'\(kind)' needs 'above' or 'below' (or both, for a band)", at: body.location)
            }
            if let above, let below, above >= below {
                reader.error("'above: \(shown(above))' and 'below: \(shown(below))' can never both hold; 'above' must be lower than 'below'", at: body.location)
            }
            let duration = t["for"].flatMap { reader.duration($0, "for") }
            guard reader.diagnostics.errorCount == errorsBefore else { return nil }
            if kind == "temperature" { return .temperature(selector, above: above, below: below, for: duration) }
            return .level(Self.thresholdConditions[kind]!, selector, above: above, below: below, for: duration)
        case "contact":
            let open = t["open"].flatMap { reader.bool($0, "open") } ?? true
            let duration = t["for"].flatMap { reader.duration($0, "for") }
            guard reader.diagnostics.errorCount == errorsBefore else { return nil }
            return .contact(selector, open: open, for: duration)
        case "motion":
            return .motion(selector)
        case "no_motion":
            return requiredDuration("for").map { .noMotion(selector, for: $0) }
        case "stale":
            return requiredDuration("for").map { .stale(selector, for: $0) }
        default:
            let rises = t["rises_by"].flatMap { reader.double($0, "rises_by") }
            let falls = t["falls_by"].flatMap { reader.double($0, "falls_by") }
            if t["rises_by"] == nil, t["falls_by"] == nil {
                reader.error("'rate' needs 'rises_by' or 'falls_by' (°C)", at: body.location)
            }
            for (key, value) in [("rises_by", rises), ("falls_by", falls)] {
                if let value, value <= 0, let at = t[key] { reader.error("'\(key)' must be more than 0 °C", at: at.location) }
            }
            let within = requiredDuration("within")
            guard reader.diagnostics.errorCount == errorsBefore, let within else { return nil }
            return .rate(selector, risesBy: rises, fallsBy: falls, within: within)
        }
    }

    /// A device id or glob that must name at least one device of the right kind.
    func resolveDevice(_ v: YAMLValue, needs: EventType?, condition: String, rule: String, devices: [DeviceRef]) -> DeviceSelector? {
        guard let pattern = reader.string(v, "device") else { return nil }
        let selector = DeviceSelector(pattern: pattern)
        let matching = devices.filter { selector.matches($0.id) }
        if matching.isEmpty {
            let hint = selector.isGlob ? "" : Suggestion.didYouMean(pattern, among: devices.map(\.id))
            reader.error("rule '\(rule)': \(selector.isGlob ? "device glob '\(pattern)' matches no device" : "unknown device '\(pattern)'")\(hint)",
                         at: v.location)
            return nil
        }
        if let needs, !matching.contains(where: { $0.makes(needs) }) {
            let what: String
            if selector.isGlob {
                var kinds: [EventType] = []
                for ref in matching { for k in ref.kinds ?? [] where !kinds.contains(k) { kinds.append(k) } }
                what = "device glob '\(pattern)' matches only \(DeviceRef(id: pattern, kinds: kinds).described.split(separator: " ", maxSplits: 1).last!) sensors"
            } else {
                what = "device '\(pattern)' is \(matching[0].described) sensor"
            }
            reader.error("rule '\(rule)': \(what); '\(condition)' needs a \(needs.sensorKind) device", at: v.location)
            return nil
        }
        return selector
    }

    private func loadTimeCondition(_ body: YAMLValue) -> Condition? {
        guard let entries = reader.mapping(body, "'time'") else { return nil }
        reader.checkKeys(entries, allowed: ["after", "before", "weekdays"], in: "'time'")
        let t = EntryTable(entries)
        if t["after"] == nil, t["before"] == nil, t["weekdays"] == nil {
            reader.error("'time' needs 'after', 'before' or 'weekdays'", at: body.location)
            return nil
        }
        func timeOfDay(_ key: String) -> TimeOfDay? {
            guard let tv = t[key], let text = reader.string(tv, key) else { return nil }
            let parts = text.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m),
                  h * 60 + m <= 24 * 60, parts[1].count == 2 else {
                reader.error("'\(key)' must be a time of day such as 06:30 or 23:00, got \(tv.shown)", at: tv.location)
                return nil
            }
            return TimeOfDay(minutes: h * 60 + m)
        }
        let after = timeOfDay("after") ?? TimeOfDay(minutes: 0)
        let before = timeOfDay("before") ?? TimeOfDay(minutes: 24 * 60)
        var weekdays: Set<Weekday>? = nil
        if let wv = t["weekdays"], let items = reader.sequence(wv, "'weekdays'") {
            var set = Set<Weekday>()
            for item in items {
                guard let name = reader.string(item, "weekdays") else { continue }
                let key = String(name.lowercased().prefix(3))
                if let index = Weekday.names.firstIndex(of: key), name.count >= 3 {
                    set.insert(Weekday(rawValue: index)!)
                } else {
                    reader.error("'\(name)' is not a weekday (mon, tue, wed, thu, fri, sat, sun)", at: item.location)
                }
            }
            weekdays = set
        }
        return .time(after: after, before: before, weekdays: weekdays)
    }

    // MARK: Actions

    func loadActions(_ v: YAMLValue, rule: String, thermostats: [String], hasMQTT: Bool) -> [RuleAction] {
        guard let items = reader.sequence(v, "'then'") else { return [] }
        if items.isEmpty { reader.error("rule '\(rule)' has no actions in 'then'", at: v.location) }
        var actions: [RuleAction] = []
        for item in items {
            guard let entries = reader.mapping(item, "an action") else { continue }
            guard entries.count == 1, let entry = entries.first else {
                reader.error("an action has exactly one key: alert, publish or thermostat", at: item.location)
                continue
            }
            let body = entry.value
            switch entry.key {
            case "alert":
                guard let e = reader.mapping(body, "'alert'") else { continue }
                reader.checkKeys(e, allowed: ["severity", "message"], in: "'alert'")
                let t = EntryTable(e)
                let severity = t["severity"].flatMap { reader.choice($0, "severity", AlertSeverity.self) } ?? .warning
                guard let mv = t["message"] else {
                    reader.error("'alert' needs a 'message', such as \"{device} at {celsius} °C\"", at: body.location)
                    continue
                }
                guard let message = reader.string(mv, "message") else { continue }
                for placeholder in placeholders(in: message) where !Self.alertPlaceholders.contains(placeholder) {
                    reader.error("unknown placeholder {\(placeholder)} in 'message' (use {device}, {celsius}, {humidity}, {pressure}, {battery}, {contact}, {location} or {rule})\(Suggestion.didYouMean(placeholder, among: Self.alertPlaceholders))",
                                 at: mv.location)
                }
                actions.append(.alert(severity: severity, message: message))
            case "publish":
                guard let e = reader.mapping(body, "'publish'") else { continue }
                reader.checkKeys(e, allowed: ["topic", "payload", "retain", "qos"], in: "'publish'")
                let t = EntryTable(e)
                if !hasMQTT { reader.error("'publish' needs an 'mqtt' section to publish through", at: entry.keyValue.location) }
                guard let tv = t["topic"] else {
                    reader.error("'publish' needs a 'topic'", at: body.location)
                    continue
                }
                guard let topic = reader.string(tv, "topic") else { continue }
                if topic.contains(where: { $0 == "+" || $0 == "#" }) {
                    reader.error("a 'publish' topic may not contain the wildcards + or #", at: tv.location)
                }
                let payload = t["payload"].flatMap { reader.string($0, "payload") } ?? ""
                let retain = t["retain"].flatMap { reader.bool($0, "retain") } ?? false
                let qos = t["qos"].flatMap { reader.int($0, "qos", in: 0...1) } ?? 1
                actions.append(.publish(topic: topic, payload: payload, retain: retain, qos: qos))
            case "thermostat":
                guard let e = reader.mapping(body, "'thermostat'") else { continue }
                reader.checkKeys(e, allowed: ["name", "target", "mode"], in: "a 'thermostat' action")
                let t = EntryTable(e)
                guard let nv = t["name"] else {
                    reader.error("a 'thermostat' action needs the thermostat's 'name'", at: body.location)
                    continue
                }
                guard let name = reader.string(nv, "name") else { continue }
                if !thermostats.contains(name) {
                    reader.error("rule '\(rule)': unknown thermostat '\(name)'\(Suggestion.didYouMean(name, among: thermostats))", at: nv.location)
                }
                let target = t["target"].flatMap { reader.double($0, "target", in: ThermostatConfig.targets, unit: "°C") }
                let mode = t["mode"].flatMap { reader.choice($0, "mode", ThermostatMode.self) }
                if t["target"] == nil, t["mode"] == nil {
                    reader.error("a 'thermostat' action needs 'target', 'mode' or both", at: body.location)
                }
                actions.append(.thermostat(name: name, target: target, mode: mode))
            default:
                reader.error("unknown action '\(entry.key)'\(Suggestion.didYouMean(entry.key, among: ["alert", "publish", "thermostat"])) (use alert, publish or thermostat)",
                             at: entry.keyValue.location)
            }
        }
        return actions
    }

    private func placeholders(in message: String) -> [String] {
        var names: [String] = []
        var current: String? = nil
        for c in message {
            if c == "{" { current = "" } else if c == "}", let name = current { names.append(name); current = nil } else { current?.append(c) }
        }
        return names
    }

    // MARK: Thermostats

    func loadThermostats(_ v: YAMLValue, devices: [DeviceRef], hasMQTT: Bool) -> [ThermostatConfig] {
        guard let items = reader.sequence(v, "'thermostats'") else { return [] }
        var result: [ThermostatConfig] = []
        var seen: [String: SourceLocation] = [:]
        for item in items {
            guard let entries = reader.mapping(item, "a thermostat") else { continue }
            reader.checkKeys(entries, allowed: Self.thermostatKeys, in: "a thermostat")
            let t = EntryTable(entries)
            guard let nv = t["name"] else {
                reader.error("a thermostat needs a 'name'", at: item.location)
                continue
            }
            guard let name = reader.identifier(nv, "name") else { continue }
            if let first = seen[name] {
                reader.error("duplicate thermostat name '\(name)' (first defined at \(first))", at: nv.location)
                continue
            }
            seen[name] = nv.location
            let errorsBefore = reader.diagnostics.errorCount
            var deviceID: String? = nil
            if let dv = t["device"], let id = reader.string(dv, "device") {
                if let device = devices.first(where: { $0.id == id }) {
                    if !device.makes(.temperatureReading) {
                        reader.error("thermostat '\(name)': device '\(id)' is \(device.described) sensor; a thermostat needs a temperature device", at: dv.location)
                    }
                    deviceID = id
                } else {
                    reader.error("thermostat '\(name)': unknown device '\(id)'\(Suggestion.didYouMean(id, among: devices.map(\.id)))", at: dv.location)
                }
            } else if t["device"] == nil {
                reader.error("thermostat '\(name)' needs 'device', the temperature sensor it follows", at: item.location)
            }
            let mode = t["mode"].flatMap { reader.choice($0, "mode", ThermostatMode.self) } ?? .heat
            let target = t["target"].flatMap { reader.double($0, "target", in: ThermostatConfig.targets, unit: "°C") }
            if t["target"] == nil { reader.error("thermostat '\(name)' needs 'target' (°C)", at: item.location) }
            let hysteresis = t["hysteresis"].flatMap { reader.double($0, "hysteresis", in: ThermostatConfig.hystereses, unit: "°C") } ?? 0.5
            let minOn = t["min_on"].flatMap { reader.duration($0, "min_on") } ?? .seconds(60)
            let minOff = t["min_off"].flatMap { reader.duration($0, "min_off") } ?? .seconds(60)
            let staleAfter = t["stale_after"].flatMap { reader.duration($0, "stale_after", minimum: .seconds(1)) } ?? .seconds(300)
            let maxRun = t["max_run"].flatMap { reader.duration($0, "max_run", minimum: .seconds(1)) }
            var actuator: ActuatorConfig? = nil
            if let av = t["actuator"] {
                actuator = loadActuator(av, hasMQTT: hasMQTT)
            } else {
                reader.error("thermostat '\(name)' needs an 'actuator' (mqtt or gpio)", at: item.location)
            }
            if let deviceID, let dv = t["device"], let device = loadedDevices.first(where: { $0.id == deviceID }) {
                checkFilters(device.filters(for: .temperatureReading), feeding: name, device: deviceID, staleAfter: staleAfter, at: dv.location)
            }
            guard reader.diagnostics.errorCount == errorsBefore, let deviceID, let target, let actuator else { continue }
            result.append(ThermostatConfig(name: name, device: deviceID, mode: mode, target: target, hysteresis: hysteresis,
                                           minOn: minOn, minOff: minOff, staleAfter: staleAfter, maxRun: maxRun, actuator: actuator))
        }
        return result
    }

    /// A thermostat sees only what the filters publish: one that may hold readings back longer
    /// than `stale_after` would trip the fail-safe while the sensor works.
    private func checkFilters(_ f: FilterSpec, feeding thermostat: String, device: String, staleAfter: Duration, at location: SourceLocation) {
        let limit = DurationText.format(staleAfter)
        if f.delta != nil {
            guard let heartbeat = f.heartbeat else {
                reader.error("thermostat '\(thermostat)': device '\(device)' has 'delta', which holds steady readings back, so the thermostat's stale_after (\(limit)) would turn the heating off; give the device a 'heartbeat' shorter than \(limit)",
                             at: location)
                return
            }
            if heartbeat >= staleAfter {
                reader.error("thermostat '\(thermostat)': device '\(device)' has 'heartbeat: \(DurationText.format(heartbeat))', not shorter than the thermostat's stale_after (\(limit)); steady readings would trip the fail-safe",
                             at: location)
            }
        }
        if let throttle = f.throttle, throttle >= staleAfter {
            reader.error("thermostat '\(thermostat)': device '\(device)' has 'throttle: \(DurationText.format(throttle))', not shorter than the thermostat's stale_after (\(limit))",
                         at: location)
        }
    }

    private func loadActuator(_ v: YAMLValue, hasMQTT: Bool) -> ActuatorConfig? {
        guard let entries = reader.mapping(v, "'actuator'") else { return nil }
        reader.checkKeys(entries, allowed: ["mqtt", "gpio"], in: "'actuator'")
        guard entries.count == 1, let entry = entries.first, ["mqtt", "gpio"].contains(entry.key) else {
            if entries.count > 1 { reader.error("an actuator is either 'mqtt' or 'gpio', not both", at: v.location) }
            return nil
        }
        guard let e = reader.mapping(entry.value, "'\(entry.key)'") else { return nil }
        let t = EntryTable(e)
        if entry.key == "mqtt" {
            reader.checkKeys(e, allowed: ["topic", "payload_on", "payload_off"], in: "an mqtt actuator")
            if !hasMQTT { reader.error("an mqtt actuator needs an 'mqtt' section to publish through", at: entry.keyValue.location) }
            guard let tv = t["topic"] else {
                reader.error("an mqtt actuator needs a 'topic'", at: entry.value.location)
                return nil
            }
            guard let topic = reader.string(tv, "topic") else { return nil }
            let on = t["payload_on"].flatMap { reader.string($0, "payload_on") } ?? "ON"
            let off = t["payload_off"].flatMap { reader.string($0, "payload_off") } ?? "OFF"
            return .mqtt(topic: topic, payloadOn: on, payloadOff: off)
        }
        reader.checkKeys(e, allowed: ["chip", "line", "active_low"], in: "a gpio actuator")
        guard let cv = t["chip"], let chip = reader.string(cv, "chip") else {
            if t["chip"] == nil { reader.error("a gpio actuator needs 'chip', such as /dev/gpiochip0", at: entry.value.location) }
            return nil
        }
        guard let lv = t["line"], let line = reader.int(lv, "line", in: 0...4095) else {
            if t["line"] == nil { reader.error("a gpio actuator needs 'line', the output line's offset", at: entry.value.location) }
            return nil
        }
        let activeLow = t["active_low"].flatMap { reader.bool($0, "active_low") } ?? false
        return .gpio(chip: chip, line: line, activeLow: activeLow)
    }
}
