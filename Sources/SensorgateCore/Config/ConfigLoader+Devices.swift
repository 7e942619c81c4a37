// `devices:` and the device profiles they name. A profile supplies defaults for any device key;
// the device entry overrides them. Values are read from whichever file wrote them, so an error
// points into the profile when the profile is wrong.

struct LoadedProfile {
    let name: String
    let file: String
    let adapter: AdapterKind?
    /// The profile's settings (every key but name, description, adapter).
    let settings: [YAMLEntry]
}

extension ConfigLoading {
    static let commonDeviceKeys = ["id", "adapter", "profile", "location"]
    static let readingKeys = ["event", "format", "unit", "valid_range", "pattern", "field", "motion_when", "edge", "active_low"]
    static let adapterKeys: [AdapterKind: [String]] = [
        .sysfs: ["path", "interval"],
        .serial: ["port", "baud", "data_bits", "parity", "stop_bits", "max_line_length"],
        .gpio: ["chip", "line", "debounce", "bias"],
        .mqtt: ["topic", "max_payload", "broker"],
        .simulated: ["kind", "interval", "start", "step", "min", "max", "rate", "seed", "fail_rate"],
    ]
    static let allDeviceKeys: [String] = {
        var keys = commonDeviceKeys + readingKeys
        for adapter in AdapterKind.allCases { keys += adapterKeys[adapter]!.filter { !keys.contains($0) } }
        return keys
    }()
    static let standardBauds = [50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
                                57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
                                2000000, 2500000, 3000000, 3500000, 4000000]

    static func keys(for adapter: AdapterKind) -> [String] {
        adapter == .simulated ? adapterKeys[.simulated]! : readingKeys + adapterKeys[adapter]!
    }

    func loadDevices(_ v: YAMLValue, profilesDirs: [String]) -> [DeviceConfig] {
        guard let items = reader.sequence(v, "'devices'") else { return [] }
        var devices: [DeviceConfig] = []
        var seen: [String: SourceLocation] = [:]
        for item in items {
            guard let device = loadDevice(item, profilesDirs: profilesDirs) else { continue }
            if let first = seen[device.id] {
                reader.error("duplicate device id '\(device.id)' (first defined at \(first)); device ids must be unique",
                             at: device.declaredAt)
                continue
            }
            seen[device.id] = device.declaredAt
            devices.append(device)
        }
        return devices
    }

    func loadDevice(_ v: YAMLValue, profilesDirs: [String]) -> DeviceConfig? {
        guard let entries = reader.mapping(v, "a device") else { return nil }
        let t = EntryTable(entries)
        guard let idValue = t["id"] else {
            reader.error("a device needs an 'id' (letters, digits, '_' and '-'; it is the events' subject)", at: v.location)
            return nil
        }
        guard let id = reader.identifier(idValue, "id") else { return nil }

        var profile: LoadedProfile? = nil
        var profileFailed = false
        if let pv = t["profile"], let name = reader.string(pv, "profile") {
            profile = loadProfile(name, at: pv, dirs: profilesDirs)
            profileFailed = profile == nil
        }

        var adapter: AdapterKind? = nil
        if let av = t["adapter"] {
            adapter = reader.choice(av, "adapter", AdapterKind.self)
            if adapter == nil { return nil }
        } else if let fromProfile = profile?.adapter {
            adapter = fromProfile
        } else if !profileFailed {
            reader.error("device '\(id)' needs an 'adapter' (one of \(AdapterKind.allCases.map(\.rawValue).joined(separator: ", ")))",
                         at: v.location)
        }
        guard let adapter else { return nil }
        if let profile, let profileAdapter = profile.adapter, profileAdapter != adapter, let pv = t["profile"] {
            reader.error("profile '\(profile.name)' is for the '\(profileAdapter.rawValue)' adapter, but device '\(id)' uses '\(adapter.rawValue)'",
                         at: pv.location)
            return nil
        }
        if adapter == .simulated, let pv = t["profile"] {
            reader.error("simulated devices take no profile; set 'kind: temperature' or 'kind: motion'", at: pv.location)
            return nil
        }

        let allowed = Self.commonDeviceKeys + Self.keys(for: adapter)
        reader.checkKeys(entries, allowed: allowed, in: "device '\(id)'") { key in
            Self.allDeviceKeys.contains(key) ? "'\(key)' does not apply to the '\(adapter.rawValue)' adapter (device '\(id)')" : nil
        }
        if profileFailed { return nil }

        // Profile defaults, then the device's own keys.
        var merged: [String: YAMLValue] = [:]
        for entry in profile?.settings ?? [] where Self.keys(for: adapter).contains(entry.key) { merged[entry.key] = entry.value }
        for entry in entries where Self.keys(for: adapter).contains(entry.key) {
            if entry.value.isNull { merged[entry.key] = nil } else { merged[entry.key] = entry.value }
        }
        let settings = DeviceSettingsTable(values: merged, device: id, at: v.location)
        let errorsBefore = reader.diagnostics.errorCount

        let reading: ReadingSpec? = adapter == .simulated ? nil : loadReadingSpec(settings, adapter: adapter)
        let adapterSettings = loadAdapterSettings(settings, adapter: adapter, reading: reading)
        let location = t["location"].flatMap { reader.string($0, "location") }
        guard reader.diagnostics.errorCount == errorsBefore, let adapterSettings else { return nil }
        return DeviceConfig(id: id, adapter: adapter, profileName: profile?.name, location: location, reading: reading,
                            settings: adapterSettings, declaredAt: idValue.location)
    }

    // MARK: Profiles

    func loadProfile(_ name: String, at v: YAMLValue, dirs: [String]) -> LoadedProfile? {
        guard name.utf8.allSatisfy({ isIdentifierByte($0) || $0 == UInt8(ascii: ".") }), !name.hasPrefix(".") else {
            reader.error("'profile' must be a profile name such as ds18b20 (a file in the profiles folder), got \(v.shown)", at: v.location)
            return nil
        }
        if let cached = profileCache[name] { return cached }
        var found: (path: String, text: String)? = nil
        for dir in dirs {
            let path = Paths.join(dir, name + ".yaml")
            if let text = files.readFile(path) { found = (path, text); break }
        }
        guard let found else {
            let known = dirs.flatMap { files.listDirectory($0) ?? [] }
                .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
            reader.error("unknown profile '\(name)' (looked in \(dirs.joined(separator: ", ")))\(Suggestion.didYouMean(name, among: known))",
                         at: v.location)
            profileCache[name] = .some(nil)
            return nil
        }
        let profile = parseProfile(name: name, path: found.path, text: found.text)
        profileCache[name] = .some(profile)
        return profile
    }

    func parseProfile(name: String, path: String, text: String) -> LoadedProfile? {
        guard let root = reader.compose(text, file: path), let entries = reader.mapping(root, "a profile") else { return nil }
        let t = EntryTable(entries)
        var adapter: AdapterKind? = nil
        if let av = t["adapter"] {
            adapter = reader.choice(av, "adapter", AdapterKind.self)
            if adapter == .simulated {
                reader.error("simulated devices take no profile", at: av.location)
                return nil
            }
        }
        let settingKeys = adapter.map { Self.keys(for: $0) }
            ?? Self.readingKeys + AdapterKind.allCases.filter { $0 != .simulated }.flatMap { Self.adapterKeys[$0]! }
        reader.checkKeys(entries, allowed: ["name", "description", "adapter"] + settingKeys, in: "profile '\(name)'") { key in
            Self.allDeviceKeys.contains(key) && adapter != nil
                ? "'\(key)' does not apply to the '\(adapter!.rawValue)' adapter (profile '\(name)')" : nil
        }
        if let nv = t["name"], let declared = reader.string(nv, "name"), declared != name {
            reader.warning("profile file '\(name).yaml' says its name is '\(declared)'; devices use the file name", at: nv.location)
        }
        return LoadedProfile(name: name, file: path, adapter: adapter,
                             settings: entries.filter { settingKeys.contains($0.key) })
    }

    // MARK: Reading spec

    func loadReadingSpec(_ s: DeviceSettingsTable, adapter: AdapterKind) -> ReadingSpec? {
        guard let ev = s["event"] else {
            reader.error("device '\(s.device)' needs 'event' (TemperatureReading or MotionDetected), usually from its profile", at: s.at)
            return nil
        }
        guard let event = reader.choice(ev, "event", among: EventType.readings) else { return nil }
        guard let fv = s["format"] else {
            reader.error("device '\(s.device)' needs 'format' (\(ReadingFormat.names.joined(separator: ", "))), usually from its profile", at: s.at)
            return nil
        }
        guard let formatName = reader.string(fv, "format") else { return nil }
        let allowedFormats: [String]
        switch adapter {
        case .sysfs: allowedFormats = ["integer", "float", "w1_slave", "regex", "json"]
        case .serial, .mqtt: allowedFormats = ["integer", "float", "regex", "json"]
        case .gpio: allowedFormats = ["edge"]
        case .simulated: allowedFormats = []
        }
        guard ReadingFormat.names.contains(formatName) else {
            reader.error("'format' must be one of \(ReadingFormat.names.joined(separator: ", ")), got \(fv.shown)\(Suggestion.didYouMean(formatName, among: ReadingFormat.names))",
                         at: fv.location)
            return nil
        }
        guard allowedFormats.contains(formatName) else {
            reader.error("format '\(formatName)' does not work with the '\(adapter.rawValue)' adapter (it takes \(allowedFormats.joined(separator: ", ")))",
                         at: fv.location)
            return nil
        }
        if event == .temperatureReading, formatName == "edge" {
            reader.error("format 'edge' makes MotionDetected events, but 'event' is TemperatureReading", at: fv.location)
            return nil
        }

        let format: ReadingFormat
        switch formatName {
        case "integer": format = .integer
        case "float": format = .float
        case "w1_slave": format = .w1Slave
        case "regex":
            guard let pv = s["pattern"] else {
                reader.error("format 'regex' needs 'pattern' with a named group 'value', such as 'T=(?<value>-?[0-9.]+)'", at: fv.location)
                return nil
            }
            guard let pattern = reader.string(pv, "pattern") else { return nil }
            do {
                _ = try ReadingDecoder(spec: ReadingSpec(event: event, format: .regex(pattern: pattern)))
            } catch {
                reader.error("'pattern' is not usable: \(error.description)", at: pv.location)
                return nil
            }
            format = .regex(pattern: pattern)
        case "json":
            guard let fieldValue = s["field"] else {
                reader.error("format 'json' needs 'field', a dotted path such as state.temperature", at: fv.location)
                return nil
            }
            guard let field = reader.string(fieldValue, "field") else { return nil }
            let path = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else {
                reader.error("'field' must be a dotted path such as state.temperature, got \(fieldValue.shown)", at: fieldValue.location)
                return nil
            }
            let motionWhen = s["motion_when"].flatMap { reader.jsonScalar($0, "motion_when") }
            format = .json(field: path, motionWhen: motionWhen)
        default:  // edge
            let edge = s["edge"].flatMap { reader.choice($0, "edge", EdgeSelection.self) } ?? .rising
            let activeLow = s["active_low"].flatMap { reader.bool($0, "active_low") } ?? false
            format = .edge(edge, activeLow: activeLow)
        }

        let unit = s["unit"].flatMap { reader.choice($0, "unit", TemperatureUnit.self) } ?? .celsius
        var range: ClosedRange<Double>? = nil
        if let rv = s["valid_range"] {
            if case .sequence(let seq) = rv.node, seq.count == 2 {
                let bounds = seq.map { reader.double(YAMLValue(node: $0, file: rv.file), "valid_range") }
                if let lo = bounds[0], let hi = bounds[1] {
                    if lo < hi { range = lo...hi } else {
                        reader.error("'valid_range' must be [low, high] with low < high, got [\(shown(lo)), \(shown(hi))]", at: rv.location)
                    }
                }
            } else {
                reader.error("'valid_range' must be [low, high] in °C, such as [-55, 125], got \(rv.shown)", at: rv.location)
            }
        }
        return ReadingSpec(event: event, format: format, unit: unit, validRange: range)
    }

    // MARK: Adapter settings

    func loadAdapterSettings(_ s: DeviceSettingsTable, adapter: AdapterKind, reading: ReadingSpec?) -> AdapterSettings? {
        func required(_ key: String, _ hint: String) -> YAMLValue? {
            if let v = s[key] { return v }
            reader.error("device '\(s.device)' needs '\(key)' (\(hint))", at: s.at)
            return nil
        }
        switch adapter {
        case .sysfs:
            let path = required("path", "the sysfs file to read").flatMap { reader.string($0, "path") }
            let interval = s["interval"].flatMap { reader.duration($0, "interval", minimum: .milliseconds(10)) } ?? .seconds(5)
            return path.map { .sysfs(SysfsSettings(path: $0, interval: interval)) }
        case .serial:
            let port = required("port", "such as /dev/ttyUSB0").flatMap { reader.string($0, "port") }
            var baud = 9600
            if let bv = s["baud"], let b = reader.int(bv, "baud") {
                if Self.standardBauds.contains(b) { baud = b } else {
                    reader.error("'baud' must be a standard rate such as 9600 or 115200, got \(b)", at: bv.location)
                }
            }
            let dataBits = s["data_bits"].flatMap { reader.int($0, "data_bits", in: 5...8) } ?? 8
            let parity = s["parity"].flatMap { reader.choice($0, "parity", SerialSettings.Parity.self) } ?? .none
            let stopBits = s["stop_bits"].flatMap { reader.int($0, "stop_bits", in: 1...2) } ?? 1
            let maxLine = s["max_line_length"].flatMap { reader.int($0, "max_line_length", in: 16...65536) } ?? 1024
            return port.map { .serial(SerialSettings(port: $0, baud: baud, dataBits: dataBits, parity: parity,
                                                     stopBits: stopBits, maxLineLength: maxLine)) }
        case .gpio:
            let chip = required("chip", "such as /dev/gpiochip0").flatMap { reader.string($0, "chip") }
            let line = required("line", "the line offset on the chip, such as 17").flatMap { reader.int($0, "line", in: 0...4095) }
            let debounce = s["debounce"].flatMap { reader.duration($0, "debounce") } ?? .zero
            let bias = s["bias"].flatMap { reader.choice($0, "bias", GPIOSettings.Bias.self) } ?? .none
            guard let chip, let line else { return nil }
            return .gpio(GPIOSettings(chip: chip, line: line, debounce: debounce, bias: bias))
        case .mqtt:
            let topic = required("topic", "the MQTT topic to subscribe to").flatMap { reader.string($0, "topic") }
            let maxPayload = s["max_payload"].flatMap { reader.size($0, "max_payload") } ?? 64 * 1024
            var broker: BrokerURL? = nil
            if let bv = s["broker"], let text = reader.string(bv, "broker") {
                broker = BrokerURL(text)
                if broker == nil {
                    reader.error("'broker' must look like mqtt://host:1883 or mqtts://host:8883, got \(bv.shown)", at: bv.location)
                }
            }
            return topic.map { .mqtt(MQTTInputSettings(topic: $0, maxPayload: maxPayload, broker: broker)) }
        case .simulated:
            return loadSimulated(s, required: required)
        }
    }

    private func loadSimulated(_ s: DeviceSettingsTable, required: (String, String) -> YAMLValue?) -> AdapterSettings? {
        guard let kv = required("kind", "temperature or motion"), let kindText = reader.string(kv, "kind") else { return nil }
        let kind: EventType
        switch kindText {
        case "temperature": kind = .temperatureReading
        case "motion": kind = .motionDetected
        default:
            reader.error("'kind' must be temperature or motion, got \(kv.shown)", at: kv.location)
            return nil
        }
        let start = s["start"].flatMap { reader.double($0, "start") } ?? 20
        let step = s["step"].flatMap { reader.double($0, "step") } ?? 0.1
        let minimum = s["min"].flatMap { reader.double($0, "min") } ?? start - 10
        let maximum = s["max"].flatMap { reader.double($0, "max") } ?? start + 10
        if minimum > start || start > maximum, let at = s["min"] ?? s["max"] ?? s["start"] {
            reader.error("simulated temperature needs min <= start <= max, got \(shown(minimum)) <= \(shown(start)) <= \(shown(maximum))", at: at.location)
        }
        if step < 0, let sv = s["step"] { reader.error("'step' must not be negative", at: sv.location) }
        let rate = s["rate"].flatMap { reader.double($0, "rate") } ?? 0.05
        if rate <= 0 || rate > 10_000, let rv = s["rate"] {
            reader.error("'rate' must be between 0 and 10000 events per second, got \(shown(rate))", at: rv.location)
        }
        var seed: UInt64? = nil
        if let sv = s["seed"], let text = reader.string(sv, "seed") {
            if let value = UInt64(text) { seed = value } else {
                reader.error("'seed' must be a whole number of 0 or more, got \(sv.shown)", at: sv.location)
            }
        }
        let failRate = s["fail_rate"].flatMap { reader.double($0, "fail_rate") } ?? 0
        if !(0...1).contains(failRate), let fv = s["fail_rate"] {
            reader.error("'fail_rate' must be between 0 and 1, got \(shown(failRate))", at: fv.location)
        }
        // 0s: readings as fast as the gateway takes them (benchmarks).
        let interval = s["interval"].flatMap { reader.duration($0, "interval") } ?? .seconds(1)
        return .simulated(SimulatedSettings(kind: kind, interval: interval, start: start, step: step, minimum: minimum,
                                            maximum: maximum, rate: rate, seed: seed, failRate: failRate))
    }
}

/// A device's settings after profile defaults and device overrides are merged.
struct DeviceSettingsTable {
    let values: [String: YAMLValue]
    let device: String
    let at: SourceLocation
    subscript(key: String) -> YAMLValue? { values[key] }
}
