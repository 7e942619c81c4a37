// `json` format: one field of a JSON payload, named by a dotted path.
//
// zigbee2mqtt, Aqara WSDCGQ11LM (topic zigbee2mqtt/garage_sensor):
//   {"battery":100,"humidity":56.07,"linkquality":65,"pressure":1003.2,"temperature":21.86,"voltage":3005}
// zigbee2mqtt, Aqara RTCGQ11LM motion sensor:
//   {"battery":100,"illuminance":5,"illuminance_lux":5,"linkquality":60,"occupancy":true,"voltage":3025}
// Tasmota with a DS18B20 (topic tele/<device>/SENSOR), field DS18B20.Temperature:
//   {"Time":"2024-01-14T12:00:01","DS18B20":{"Id":"01144A0CB2AA","Temperature":21.4},"TempUnit":"C"}

enum JSONFieldParser {
    static func parse(_ text: String, field: [String], motionWhen: JSONValue?) -> RawReading {
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            return .failed(.malformed("not JSON: \(error)"))
        }
        let path = field.joined(separator: ".")
        guard let value = document.value(atPath: field) else {
            return .failed(.missingField("no field '\(path)' in the payload"))
        }
        guard value != .null else {
            return .failed(.missingField("field '\(path)' is null: the sensor sent no value"))
        }
        if let motionWhen {
            return matches(value, motionWhen) ? .motion : .idle
        }
        switch value {
        case .number(let n): return .value(n)
        case .string(let s):
            // Some firmwares send numbers as strings ("21.5").
            if let n = Double(s.trimmingSpaces), n.isFinite { return .value(n) }
            return .failed(.malformed("field '\(path)' is not a number: \(value.summary)"))
        default:
            return .failed(.malformed("field '\(path)' is not a number: \(value.summary)"))
        }
    }

    /// Loose equality between a payload value and the configured `motion_when`: `true` matches
    /// true, `1` matches 1 and "1"; strings compare case-insensitively ("ON" == "on").
    static func matches(_ value: JSONValue, _ expected: JSONValue) -> Bool {
        switch (value, expected) {
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a.lowercased() == b.lowercased()
        case (.string(let a), .number(let b)): return Double(a) == b
        case (.number(let a), .string(let b)): return Double(b) == a
        case (.string(let a), .bool(let b)): return a.lowercased() == (b ? "true" : "false")
        default: return false
        }
    }
}
