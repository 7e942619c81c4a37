// CloudEvents 1.0 structured JSON mode, exactly as SPEC.md shows it (with `dataschema`, the URI
// of the type's JSON Schema: EventSchema.swift), and back.

extension Event {
    public func cloudEventJSON() -> String { String(decoding: cloudEventBytes(), as: UTF8.self) }

    public func cloudEventBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 320)
        w.raw("{\"specversion\":\"1.0\",\"id\":\"")
        w.uuid(id)
        w.raw("\",\"source\":")
        w.string(source)
        w.raw(",\"type\":\"")
        w.raw(type.rawValue)
        w.raw("\",\"subject\":")
        w.string(subject)
        w.raw(",\"time\":\"")
        w.rfc3339(time)
        w.raw("\",\"datacontenttype\":\"application/json\"")
        w.raw(bytes: EventSchema.dataschemaAttribute[type]!)
        w.raw(",\"seq\":")
        w.number(seq)
        if !clockSynced { w.raw(",\"clocksynced\":false") }
        w.raw(",\"data\":{")
        switch data {
        case .temperature(let celsius, let location):
            w.raw("\"celsius\":")
            w.number(roundedCelsius(celsius))
            if let location { w.raw(",\"location\":"); w.string(location) }
        case .motion(let location):
            if let location { w.raw("\"location\":"); w.string(location) }
        case .alertRaised(let alert), .alertResolved(let alert):
            w.raw("\"rule\":")
            w.string(alert.rule)
            w.raw(",\"severity\":\"")
            w.raw(alert.severity.rawValue)
            w.raw("\",\"message\":")
            w.string(alert.message)
        case .thermostatCommand(let c):
            w.raw("\"thermostat\":")
            w.string(c.thermostat)
            w.raw(c.outputOn ? ",\"output\":\"on\",\"mode\":\"" : ",\"output\":\"off\",\"mode\":\"")
            w.raw(c.mode.rawValue)
            w.raw("\",\"target\":")
            w.number(c.target)
            if let celsius = c.celsius { w.raw(",\"celsius\":"); w.number(roundedCelsius(celsius)) }
            w.raw(",\"reason\":")
            w.string(c.reason)
        case .humidity(let percent, let location):
            w.raw("\"percent\":")
            w.number(roundedReading(percent))
            if let location { w.raw(",\"location\":"); w.string(location) }
        case .pressure(let hpa, let location):
            w.raw("\"hpa\":")
            w.number(roundedReading(hpa))
            if let location { w.raw(",\"location\":"); w.string(location) }
        case .contact(let open, let location):
            w.raw(open ? "\"open\":true" : "\"open\":false")
            if let location { w.raw(",\"location\":"); w.string(location) }
        case .battery(let percent):
            w.raw("\"percent\":")
            w.number(roundedReading(percent))
        }
        w.raw("}}")
        return w.bytes
    }

    public struct DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Reads an event back from its CloudEvents JSON (recorded events, the buffer, tests).
    public init(cloudEventJSON text: String) throws(DecodingError) {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch { throw DecodingError(message: "not JSON: \(error)") }
        func field(_ name: String) throws(DecodingError) -> String {
            guard let s = value[name]?.stringValue else { throw DecodingError(message: "missing string field '\(name)'") }
            return s
        }
        guard try field("specversion") == "1.0" else { throw DecodingError(message: "specversion must be \"1.0\"") }
        guard let id = EventID(try field("id")) else { throw DecodingError(message: "'id' is not a UUID") }
        guard let time = Timestamp(rfc3339: try field("time")) else { throw DecodingError(message: "'time' is not an RFC 3339 time") }
        guard let type = EventType(rawValue: try field("type")) else {
            throw DecodingError(message: "unknown type '\(value["type"]?.stringValue ?? "")'")
        }
        let seqValue = value["seq"]?.doubleValue ?? 0
        guard seqValue >= 0, seqValue == seqValue.rounded() else { throw DecodingError(message: "'seq' must be a non-negative integer") }
        let data = value["data"] ?? .object([:])
        func dataString(_ name: String) -> String? { data[name]?.stringValue }
        func requireData(_ name: String) throws(DecodingError) -> String {
            guard let s = dataString(name) else { throw DecodingError(message: "missing data.\(name)") }
            return s
        }
        let payload: EventData
        switch type {
        case .temperatureReading:
            guard let celsius = data["celsius"]?.doubleValue else { throw DecodingError(message: "missing data.celsius") }
            payload = .temperature(celsius: celsius, location: dataString("location"))
        case .motionDetected:
            payload = .motion(location: dataString("location"))
        case .alertRaised, .alertResolved:
            guard let severity = AlertSeverity(rawValue: try requireData("severity")) else {
                throw DecodingError(message: "unknown data.severity")
            }
            let alert = AlertData(rule: try requireData("rule"), severity: severity, message: try requireData("message"))
            payload = type == .alertRaised ? .alertRaised(alert) : .alertResolved(alert)
        case .thermostatCommand:
            guard let mode = ThermostatMode(rawValue: try requireData("mode")) else { throw DecodingError(message: "unknown data.mode") }
            guard let target = data["target"]?.doubleValue else { throw DecodingError(message: "missing data.target") }
            payload = .thermostatCommand(ThermostatCommandData(
                thermostat: try requireData("thermostat"), outputOn: try requireData("output") == "on", mode: mode,
                target: target, celsius: data["celsius"]?.doubleValue, reason: try requireData("reason")))
        case .humidityReading:
            guard let percent = data["percent"]?.doubleValue else { throw DecodingError(message: "missing data.percent") }
            payload = .humidity(percent: percent, location: dataString("location"))
        case .pressureReading:
            guard let hpa = data["hpa"]?.doubleValue else { throw DecodingError(message: "missing data.hpa") }
            payload = .pressure(hpa: hpa, location: dataString("location"))
        case .contactChanged:
            guard case .bool(let open)? = data["open"] else { throw DecodingError(message: "missing data.open (true or false)") }
            payload = .contact(open: open, location: dataString("location"))
        case .batteryLevel:
            guard let percent = data["percent"]?.doubleValue else { throw DecodingError(message: "missing data.percent") }
            payload = .battery(percent: percent)
        }
        var synced = true
        if case .bool(let b)? = value["clocksynced"] { synced = b }
        self.init(id: id, source: try field("source"), subject: try field("subject"), time: time,
                  seq: UInt64(seqValue), data: payload, clockSynced: synced)
    }
}
