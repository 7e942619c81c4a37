// `devices:` and the device profiles they name. A profile supplies defaults for any device key;
// the device entry overrides them. Values are read from whichever file wrote them, so an error
// points into the profile when the profile is wrong. Each adapter's own keys and settings come
// from its AdapterDefinition.

internal import SensorgateYAML

struct LoadedProfile {
    let name: String
    let file: String
    let adapter: AdapterDefinition?
    /// The profile's settings (every key but name, description, adapter).
    let settings: [YAMLEntry]
}

extension ConfigLoading {
    static let commonDeviceKeys = ["id", "adapter", "profile", "location"]
    static let readingKeys = ["event", "format", "unit", "valid_range", "pattern", "field", "motion_when", "edge", "active_low"]

    /// An adapter's keys in a device entry: the reading spec's too when it decodes raw input.
    static func keys(for adapter: AdapterDefinition) -> [String] {
        adapter.readingFormats == nil ? adapter.keys : readingKeys + adapter.keys
    }

    func adapter(named name: String) -> AdapterDefinition? { adapters.first { $0.name == name } }

    /// `adapter:` as one of the definitions' names, or nil with an error.
    func adapter(_ v: YAMLValue) -> AdapterDefinition? {
        reader.choice(v, "adapter", among: adapters.map(\.name)).flatMap(adapter(named:))
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

        var adapter: AdapterDefinition? = nil
        if let av = t["adapter"] {
            adapter = self.adapter(av)
            if adapter == nil { return nil }
        } else if let fromProfile = profile?.adapter {
            adapter = fromProfile
        } else if !profileFailed {
            reader.error("device '\(id)' needs an 'adapter' (one of \(adapters.map(\.name).joined(separator: ", ")))", at: v.location)
        }
        guard let adapter else { return nil }
        if let profile, let profileAdapter = profile.adapter, profileAdapter.name != adapter.name, let pv = t["profile"] {
            reader.error("profile '\(profile.name)' is for the '\(profileAdapter.name)' adapter, but device '\(id)' uses '\(adapter.name)'",
                         at: pv.location)
            return nil
        }
        if case .madeByAdapter(let hint) = adapter.readings, let pv = t["profile"] {
            reader.error("\(adapter.name) devices take no profile; \(hint)", at: pv.location)
            return nil
        }

        let keys = Self.keys(for: adapter)
        reader.checkKeys(entries, allowed: Self.commonDeviceKeys + keys, in: "device '\(id)'") { key in
            allDeviceKeys.contains(key) ? "'\(key)' does not apply to the '\(adapter.name)' adapter (device '\(id)')" : nil
        }
        if profileFailed { return nil }

        // Profile defaults, then the device's own keys.
        var merged: [String: YAMLValue] = [:]
        for entry in profile?.settings ?? [] where keys.contains(entry.key) { merged[entry.key] = entry.value }
        for entry in entries where keys.contains(entry.key) {
            if entry.value.isNull { merged[entry.key] = nil } else { merged[entry.key] = entry.value }
        }
        let settings = DeviceSettingsTable(values: merged, device: id, at: v.location)
        let errorsBefore = reader.diagnostics.errorCount

        let reading = adapter.readingFormats.flatMap { loadReadingSpec(settings, adapter: adapter.name, formats: $0) }
        let adapterSettings = adapter.parse(DeviceSettingsReader(reader: reader, table: settings))
        let location = t["location"].flatMap { reader.string($0, "location") }
        guard reader.diagnostics.errorCount == errorsBefore, let adapterSettings else { return nil }
        return DeviceConfig(id: id, adapter: adapter.name, profileName: profile?.name, location: location, reading: reading,
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
        var adapter: AdapterDefinition? = nil
        if let av = t["adapter"] {
            adapter = self.adapter(av)
            if let adapter, adapter.readingFormats == nil {
                reader.error("\(adapter.name) devices take no profile", at: av.location)
                return nil
            }
        }
        // A profile that names no adapter may set any key a profile can.
        let settingKeys = adapter.map { Self.keys(for: $0) }
            ?? Self.readingKeys + adapters.filter { $0.readingFormats != nil }.flatMap(\.keys)
        reader.checkKeys(entries, allowed: ["name", "description", "adapter"] + settingKeys, in: "profile '\(name)'") { key in
            guard let adapter, allDeviceKeys.contains(key) else { return nil }
            return "'\(key)' does not apply to the '\(adapter.name)' adapter (profile '\(name)')"
        }
        if let nv = t["name"], let declared = reader.string(nv, "name"), declared != name {
            reader.warning("profile file '\(name).yaml' says its name is '\(declared)'; devices use the file name", at: nv.location)
        }
        return LoadedProfile(name: name, file: path, adapter: adapter,
                             settings: entries.filter { settingKeys.contains($0.key) })
    }

    // MARK: Reading spec

    func loadReadingSpec(_ s: DeviceSettingsTable, adapter: String, formats allowedFormats: [String]) -> ReadingSpec? {
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
        guard ReadingFormat.names.contains(formatName) else {
            reader.error("'format' must be one of \(ReadingFormat.names.joined(separator: ", ")), got \(fv.shown)\(Suggestion.didYouMean(formatName, among: ReadingFormat.names))",
                         at: fv.location)
            return nil
        }
        guard allowedFormats.contains(formatName) else {
            reader.error("format '\(formatName)' does not work with the '\(adapter)' adapter (it takes \(allowedFormats.joined(separator: ", ")))",
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
            if case .sequence(let seq) = rv.node.content, seq.count == 2 {
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
}
