// A device's channels and filters. A device (or its profile) either describes one reading with
// `event`, `format`, `unit`, … or several under `channels:`, each with its own `event`, `file`
// (a sysfs attribute in the device's `path` directory) or `field` (a JSON path), `format`,
// `unit`, `valid_range`. Filter keys (`offset`, `multiply`, `calibrate_linear`, `round`,
// `delta`, `throttle`, `heartbeat`) may sit on a channel (a profile's default), on the device
// (every channel), or under `filters: { humidity: {...} }` (one channel); the more specific wins.

extension ConfigLoading {
    static let filterKeys = ["offset", "multiply", "calibrate_linear", "round", "delta", "throttle", "heartbeat", "filters"]
    static let channelFilterKeys = ["offset", "multiply", "calibrate_linear", "round", "delta", "throttle", "heartbeat"]
    static let channelKeys = ["event", "file", "field", "format", "unit", "valid_range", "pattern", "motion_when", "open_when",
                              "edge", "active_low"] + channelFilterKeys
    /// Keys that change a value's scale: meaningless across channels of different units.
    static let scalingKeys = ["offset", "multiply", "calibrate_linear"]

    // MARK: Channels

    /// The device's channels, each with the table its keys were read from (the device's own for a
    /// single channel).
    func loadChannels(_ s: DeviceSettingsTable, adapter: AdapterDefinition, formats: [String]) -> ([ChannelConfig], [DeviceSettingsTable]) {
        guard let cv = s["channels"] else {
            guard let spec = loadReadingSpec(s, adapter: adapter.name, formats: formats) else { return ([], []) }
            return ([ChannelConfig(spec: spec)], [s])
        }
        for key in ["event", "field", "pattern", "unit", "valid_range", "motion_when", "open_when"] {
            if let v = s[key] { reader.error("'\(key)' goes in each of 'channels' (device '\(s.device)' has channels)", at: v.location) }
        }
        guard let items = reader.sequence(cv, "'channels'") else { return ([], []) }
        if items.isEmpty {
            reader.error("'channels' needs at least one channel, such as { event: TemperatureReading, file: in_temp_input }", at: cv.location)
            return ([], [])
        }
        var channels: [ChannelConfig] = []
        var tables: [DeviceSettingsTable] = []
        for item in items {
            guard let entries = reader.mapping(item, "a channel") else { continue }
            reader.checkKeys(entries, allowed: Self.channelKeys, in: "a channel of device '\(s.device)'")
            var values: [String: YAMLValue] = [:]
            // The device's format and active_low are its channels' defaults.
            for key in ["format", "active_low"] { if let v = s[key] { values[key] = v } }
            for entry in entries where Self.channelKeys.contains(entry.key) && !entry.value.isNull { values[entry.key] = entry.value }
            let table = DeviceSettingsTable(values: values, device: s.device, at: item.location)
            var file: String? = nil
            if let fv = table["file"], let name = reader.string(fv, "file") {
                if !adapter.keys.contains("path") {
                    reader.error("'file' names a sysfs attribute in the device's 'path' directory; the '\(adapter.name)' adapter reads no files (a JSON payload's channels use 'field')",
                                 at: fv.location)
                } else if name.isEmpty || name.contains("/") || name == "." || name == ".." {
                    reader.error("'file' must be a file name in the device's 'path' directory, such as in_humidityrelative_input, got \(fv.shown)",
                                 at: fv.location)
                } else {
                    file = name
                }
            }
            if table["file"] != nil, file == nil { continue }  // reported above
            // A kernel attribute says its own format and unit; a JSON field is read as json.
            let attribute = file.flatMap(SysfsAttribute.named)
            let defaultFormat: String? = table["field"] != nil ? "json" : file.map { _ in attribute?.decimal == true ? "float" : "integer" }
            guard let spec = loadReadingSpec(table, adapter: adapter.name, formats: formats, defaultFormat: defaultFormat,
                                             defaultUnit: attribute?.unit) else { continue }
            if let first = channels.firstIndex(where: { $0.event == spec.event }) {
                reader.error("device '\(s.device)' has a second \(spec.event.rawValue) channel (the first is at \(tables[first].at)); "
                             + "events of one device differ by type, so each type is read once", at: item.location)
                continue
            }
            channels.append(ChannelConfig(file: file, spec: spec))
            tables.append(table)
        }
        return (channels, tables)
    }

    // MARK: Filters

    /// Fills in each channel's filters; returns the device-level ones (the only ones a device
    /// without channels, a simulated one, has).
    func applyFilters(_ s: DeviceSettingsTable, to channels: inout [ChannelConfig], tables: [DeviceSettingsTable]) -> FilterSpec {
        let deviceLevel = filterSpec(s)
        var perChannel: [String: DeviceSettingsTable] = [:]
        if let fv = s["filters"], let entries = reader.mapping(fv, "'filters'") {
            let names = channels.map(\.name)
            for entry in entries {
                guard names.contains(entry.key) else {
                    reader.error("device '\(s.device)' has no channel '\(entry.key)' (it has \(names.joined(separator: ", ")))\(Suggestion.didYouMean(entry.key, among: names))",
                                 at: entry.keyValue.location)
                    continue
                }
                guard let inner = reader.mapping(entry.value, "'filters: \(entry.key)'") else { continue }
                reader.checkKeys(inner, allowed: Self.channelFilterKeys, in: "'filters: \(entry.key)'")
                var values: [String: YAMLValue] = [:]
                for e in inner where Self.channelFilterKeys.contains(e.key) && !e.value.isNull { values[e.key] = e.value }
                perChannel[entry.key] = DeviceSettingsTable(values: values, device: s.device, at: entry.value.location)
            }
        }
        let multi = channels.count > 1
        if multi {
            let names = channels.filter(\.event.isNumeric).map(\.name)
            for key in Self.scalingKeys {
                if let v = s[key], names.count > 1 {
                    reader.error("'\(key)' on device '\(s.device)' would apply to every channel (\(names.joined(separator: ", "))); put it under 'filters: { \(names[0]): { \(key): ... } }'",
                                 at: v.location)
                }
            }
        }
        for i in channels.indices {
            let channel = channels[i]
            var sources: [(FilterSpec, DeviceSettingsTable)] = []
            if let table = perChannel[channel.name] { sources.append((filterSpec(table), table)) }
            sources.append((deviceLevel, s))
            if multi, tables.indices.contains(i) { sources.append((filterSpec(tables[i]), tables[i])) }
            guard channel.event.isNumeric else {
                // Device-level filters of a multi-channel device skip its motion or contact channel.
                for (spec, table) in sources where !spec.isEmpty && !(multi && table.at == s.at) {
                    reportFiltersOnState(channel.event, table)
                }
                continue
            }
            var merged = FilterSpec()
            for (spec, _) in sources.reversed() { merged = spec.overriding(merged) }
            validate(merged, tables: sources.map(\.1))
            channels[i].filters = merged
        }
        return deviceLevel
    }

    /// A device without channels (simulated): its filters against what it makes.
    func checkFilters(_ filters: FilterSpec, of made: EventType, in s: DeviceSettingsTable) {
        guard !filters.isEmpty else { return }
        if made.isNumeric { validate(filters, tables: [s]) } else { reportFiltersOnState(made, s) }
    }

    private func reportFiltersOnState(_ event: EventType, _ table: DeviceSettingsTable) {
        guard let key = Self.channelFilterKeys.first(where: { table[$0] != nil }), let v = table[key] else { return }
        reader.error("filters act on numbers, and \(event.rawValue) carries none: '\(key)' does not apply\(event == .motionDetected ? " (a GPIO line has 'debounce')" : "")",
                     at: v.location)
    }

    /// Checks that concern several keys, reported where the first table that sets the key wrote it.
    private func validate(_ spec: FilterSpec, tables: [DeviceSettingsTable]) {
        func at(_ key: String) -> SourceLocation { tables.first { $0[key] != nil }?[key]?.location ?? tables[0].at }
        if let heartbeat = spec.heartbeat {
            if let throttle = spec.throttle, heartbeat <= throttle {
                reader.error("'heartbeat' (\(DurationText.format(heartbeat))) must be longer than 'throttle' (\(DurationText.format(throttle))), which it cannot beat",
                             at: at("heartbeat"))
            } else if spec.delta == nil {
                reader.warning("'heartbeat' repeats readings that 'delta' held back; without 'delta' every reading is published anyway",
                               at: at("heartbeat"))
            }
        }
    }

    /// The filter keys one table sets.
    func filterSpec(_ s: DeviceSettingsTable) -> FilterSpec {
        var f = FilterSpec()
        f.offset = s["offset"].flatMap { reader.double($0, "offset") }
        if let mv = s["multiply"], let m = reader.double(mv, "multiply") {
            if m == 0 { reader.error("'multiply: 0' would make every reading 0", at: mv.location) } else { f.scale = .multiply(m) }
        }
        if let cv = s["calibrate_linear"] {
            if s["multiply"] != nil {
                reader.error("'multiply' and 'calibrate_linear' both scale the reading; use one", at: cv.location)
            } else {
                f.scale = calibration(cv)
            }
        }
        f.round = s["round"].flatMap { reader.int($0, "round", in: 0...6) }
        if let dv = s["delta"], let d = reader.double(dv, "delta") {
            if d > 0 { f.delta = d } else { reader.error("'delta' must be more than 0, got \(dv.shown)", at: dv.location) }
        }
        if let tv = s["throttle"] { f.throttle = reader.duration(tv, "throttle", minimum: .milliseconds(1)) }
        if let hv = s["heartbeat"] { f.heartbeat = reader.duration(hv, "heartbeat", minimum: .seconds(1)) }
        return f
    }

    /// `calibrate_linear: [[measured, true], ...]` or ESPHome's `["0.0 -> 0.0", ...]`.
    private func calibration(_ v: YAMLValue) -> FilterSpec.Scale? {
        guard let items = reader.sequence(v, "'calibrate_linear'") else { return nil }
        let example = "such as [20.3, 20.0] (measured, true) or \"20.3 -> 20.0\""
        var points: [FilterSpec.Point] = []
        for item in items {
            if item.shown == "a list" {
                guard let pair = reader.sequence(item, "a calibration point"), pair.count == 2 else {
                    reader.error("a calibration point has two numbers, \(example)", at: item.location)
                    continue
                }
                guard let measured = reader.double(pair[0], "calibrate_linear"), let actual = reader.double(pair[1], "calibrate_linear") else { continue }
                points.append(.init(measured: measured, actual: actual))
            } else {
                guard let text = reader.string(item, "calibrate_linear") else { continue }
                guard let arrow = text.range(of: "->"),
                      let measured = Double(text[..<arrow.lowerBound].trimmingSpaces),
                      let actual = Double(text[arrow.upperBound...].trimmingSpaces), measured.isFinite, actual.isFinite else {
                    reader.error("a calibration point has two numbers, \(example), got \(item.shown)", at: item.location)
                    continue
                }
                points.append(.init(measured: measured, actual: actual))
            }
        }
        guard points.count == items.count else { return nil }
        guard points.count >= 2 else {
            reader.error("'calibrate_linear' needs at least two points (measured, true), \(example)", at: v.location)
            return nil
        }
        guard let scale = FilterSpec.linear(through: points) else {
            reader.error("the points of 'calibrate_linear' need at least two different measured values", at: v.location)
            return nil
        }
        return scale
    }
}

extension FilterSpec {
    /// These filters where set, `base`'s elsewhere.
    func overriding(_ base: FilterSpec) -> FilterSpec {
        FilterSpec(offset: offset ?? base.offset, scale: scale ?? base.scale, round: round ?? base.round,
                   delta: delta ?? base.delta, throttle: throttle ?? base.throttle, heartbeat: heartbeat ?? base.heartbeat)
    }
}
