// `devices:` and the device profiles they name. A profile supplies defaults for any device key;
// the device entry overrides them. Values are read from whichever file wrote them, so an error
// points into the profile when the profile is wrong. Each adapter's own keys and settings come
// from its AdapterDefinition; channels and filters from ConfigLoader+Channels.swift.

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
    static let readingKeys = ["event", "format", "unit", "valid_range", "pattern", "field", "motion_when", "edge", "active_low",
                              "open_when", "channels"]

    /// An adapter's keys in a device entry: the reading spec's too when it decodes raw input, and
    /// the filters (per channel with `filters:` when there are channels).
    static func keys(for adapter: AdapterDefinition) -> [String] {
        adapter.readingFormats == nil ? channelFilterKeys + adapter.keys : readingKeys + filterKeys + adapter.keys
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

        var channels: [ChannelConfig] = []
        var channelTables: [DeviceSettingsTable] = []
        if let formats = adapter.readingFormats {
            (channels, channelTables) = loadChannels(settings, adapter: adapter, formats: formats)
        }
        let filters = applyFilters(settings, to: &channels, tables: channelTables)
        // Channels with errors are not checked further by the adapter (no pile of follow-on errors).
        let sound = reader.diagnostics.errorCount == errorsBefore
        let adapterSettings = adapter.parse(DeviceSettingsReader(reader: reader, table: settings, channels: sound ? channels : [],
                                                                 channelTables: sound ? channelTables : [], profile: profile?.name))
        if channels.isEmpty, let made = adapterSettings?.eventType { checkFilters(filters, of: made, in: settings) }
        let location = t["location"].flatMap { reader.string($0, "location") }
        guard reader.diagnostics.errorCount == errorsBefore, let adapterSettings else { return nil }
        var device = DeviceConfig(id: id, adapter: adapter.name, profileName: profile?.name, location: location,
                                  reading: channels.first?.spec, settings: adapterSettings, declaredAt: idValue.location)
        device.channels = channels
        device.filters = filters
        return device
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

    /// A channel's reading spec from `s` (a device, or one item of its `channels`). `defaultFormat`
    /// and `defaultUnit` stand in when `format` and `unit` are not set (json for a `field`, the
    /// kernel attribute's own for a `file`).
    func loadReadingSpec(_ s: DeviceSettingsTable, adapter: String, formats allowedFormats: [String],
                         defaultFormat: String? = nil, defaultUnit: ReadingUnit? = nil) -> ReadingSpec? {
        let readings = EventType.readings.map(\.rawValue)
        guard let ev = s["event"] else {
            reader.error("device '\(s.device)' needs 'event' (\(readings.joined(separator: ", "))), usually from its profile", at: s.at)
            return nil
        }
        guard let event = reader.choice(ev, "event", among: EventType.readings) else { return nil }
        let formatName: String
        let formatAt: SourceLocation
        if let fv = s["format"] {
            guard let name = reader.string(fv, "format") else { return nil }
            guard ReadingFormat.names.contains(name) else {
                reader.error("'format' must be one of \(ReadingFormat.names.joined(separator: ", ")), got \(fv.shown)\(Suggestion.didYouMean(name, among: ReadingFormat.names))",
                             at: fv.location)
                return nil
            }
            (formatName, formatAt) = (name, fv.location)
        } else if let defaultFormat {
            (formatName, formatAt) = (defaultFormat, s.at)
        } else {
            reader.error("device '\(s.device)' needs 'format' (\(ReadingFormat.names.joined(separator: ", "))), usually from its profile", at: s.at)
            return nil
        }
        guard allowedFormats.contains(formatName) else {
            reader.error("format '\(formatName)' does not work with the '\(adapter)' adapter (it takes \(allowedFormats.joined(separator: ", ")))",
                         at: formatAt)
            return nil
        }
        if event.isNumeric, formatName == "edge" {
            reader.error("format 'edge' makes MotionDetected or ContactChanged events, but 'event' is \(event.rawValue)", at: formatAt)
            return nil
        }

        let format: ReadingFormat
        switch formatName {
        case "integer": format = .integer
        case "float": format = .float
        case "w1_slave": format = .w1Slave
        case "regex":
            guard let pv = s["pattern"] else {
                reader.error("format 'regex' needs 'pattern' with a named group 'value', such as 'T=(?<value>-?[0-9.]+)'", at: formatAt)
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
                reader.error("format 'json' needs 'field', a dotted path such as state.temperature", at: formatAt)
                return nil
            }
            guard let field = reader.string(fieldValue, "field") else { return nil }
            let path = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains(where: \.isEmpty) else {
                reader.error("'field' must be a dotted path such as state.temperature, got \(fieldValue.shown)", at: fieldValue.location)
                return nil
            }
            // What a motion or contact field is compared with: motion_when, open_when.
            let matchKey = event == .contactChanged ? "open_when" : "motion_when"
            let match = s[matchKey].flatMap { reader.jsonScalar($0, matchKey) }
            format = .json(field: path, motionWhen: match)
        default:  // edge
            let activeLow = s["active_low"].flatMap { reader.bool($0, "active_low") } ?? false
            var edge = s["edge"].flatMap { reader.choice($0, "edge", EdgeSelection.self) } ?? (event == .contactChanged ? .both : .rising)
            if event == .contactChanged, edge != .both, let ev = s["edge"] {
                reader.error("a contact reports both edges (open and closed): 'edge' must be both; 'active_low' chooses which level means open",
                             at: ev.location)
                edge = .both
            }
            format = .edge(edge, activeLow: activeLow)
        }
        for (key, wanted) in [("motion_when", EventType.motionDetected), ("open_when", .contactChanged)] where event != wanted {
            if let mv = s[key] {
                reader.error("'\(key)' is for \(wanted.rawValue) channels; this one is \(event.rawValue)", at: mv.location)
            }
        }

        var unit = defaultUnit.flatMap { event.units.contains($0) ? $0 : nil } ?? event.eventUnit ?? .celsius
        if let uv = s["unit"] {
            if event.isNumeric {
                if let u = reader.choice(uv, "unit", among: event.units) { unit = u }
            } else {
                reader.error("'unit' does not apply to \(event.rawValue) (it carries no number)", at: uv.location)
            }
        }
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
                reader.error("'valid_range' must be [low, high] in \(unit.symbol), such as \(Self.rangeExample(event)), got \(rv.shown)", at: rv.location)
            }
        }
        return ReadingSpec(event: event, format: format, unit: unit, validRange: range)
    }

    static func rangeExample(_ event: EventType) -> String {
        switch event {
        case .humidityReading, .batteryLevel: return "[0, 100]"
        case .pressureReading: return "[300, 1100]"
        case .temperatureReading, .motionDetected, .contactChanged, .alertRaised, .alertResolved, .thermostatCommand: return "[-55, 125]"
        }
    }
}
