// `homeassistant:`: Home Assistant MQTT discovery (off unless the section is there).

extension ConfigLoading {
    static let homeAssistantKeys = ["discovery_prefix", "status_topic", "motion_off_delay", "min_temp", "max_temp"]

    func loadHomeAssistant(_ v: YAMLValue, hasMQTT: Bool) -> HomeAssistantSettings? {
        guard let entries = reader.mapping(v, "'homeassistant'") else { return nil }
        reader.checkKeys(entries, allowed: Self.homeAssistantKeys, in: "'homeassistant'")
        let t = EntryTable(entries)
        if !hasMQTT {
            reader.error("'homeassistant' needs an 'mqtt' section: discovery and states go to Home Assistant through the broker",
                         at: entries.first?.keyValue.location ?? v.location)
        }
        var settings = HomeAssistantSettings()
        for key in ["discovery_prefix", "status_topic"] {
            guard let tv = t[key], let topic = reader.string(tv, key) else { continue }
            if topic.isEmpty || topic.contains(where: { $0 == "+" || $0 == "#" }) || topic.hasPrefix("/") || topic.hasSuffix("/") {
                reader.error("'\(key)' must be an MQTT topic without wildcards or a leading or trailing '/', got \(tv.shown)", at: tv.location)
                continue
            }
            if key == "discovery_prefix" { settings.discoveryPrefix = topic } else { settings.statusTopic = topic }
        }
        if let dv = t["motion_off_delay"], let delay = reader.duration(dv, "motion_off_delay", minimum: .seconds(1)) {
            settings.motionOffDelay = delay
        }
        if let x = t["min_temp"].flatMap({ reader.double($0, "min_temp") }) { settings.minTemp = x }
        if let x = t["max_temp"].flatMap({ reader.double($0, "max_temp") }) { settings.maxTemp = x }
        if settings.minTemp >= settings.maxTemp {
            reader.error("'min_temp' (\(shown(settings.minTemp))) must be below 'max_temp' (\(shown(settings.maxTemp)))",
                         at: t["min_temp"]?.location ?? t["max_temp"]?.location ?? v.location)
        }
        return settings
    }
}
