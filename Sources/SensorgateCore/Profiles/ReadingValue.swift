// One reading in its event's unit: what a channel of a device measured, before the gateway gives
// it an id, a seq and a time. The event type follows from the case, and so does the channel
// (one channel per event type and device).

public enum ReadingValue: Sendable, Equatable {
    case temperature(celsius: Double)
    case motion
    case humidity(percent: Double)
    case pressure(hpa: Double)
    case contact(open: Bool)
    case battery(percent: Double)

    public var eventType: EventType {
        switch self {
        case .temperature: return .temperatureReading
        case .motion: return .motionDetected
        case .humidity: return .humidityReading
        case .pressure: return .pressureReading
        case .contact: return .contactChanged
        case .battery: return .batteryLevel
        }
    }

    /// The number, for the readings that carry one (filters and thresholds act on it).
    public var number: Double? {
        switch self {
        case .temperature(let v), .humidity(let v), .pressure(let v), .battery(let v): return v
        case .motion, .contact: return nil
        }
    }

    /// The same kind of reading with another number (a filter's output); motion and contacts
    /// are returned unchanged.
    public func with(number value: Double) -> ReadingValue {
        switch self {
        case .temperature: return .temperature(celsius: value)
        case .humidity: return .humidity(percent: value)
        case .pressure: return .pressure(hpa: value)
        case .battery: return .battery(percent: value)
        case .motion, .contact: return self
        }
    }

    /// A reading of `type` with `value` in its event's unit; nil for motion and contacts.
    public static func numeric(_ type: EventType, _ value: Double) -> ReadingValue? {
        switch type {
        case .temperatureReading: return .temperature(celsius: value)
        case .humidityReading: return .humidity(percent: value)
        case .pressureReading: return .pressure(hpa: value)
        case .batteryLevel: return .battery(percent: value)
        case .motionDetected, .contactChanged, .alertRaised, .alertResolved, .thermostatCommand: return nil
        }
    }

    /// The event data for a device at `location`.
    public func eventData(location: String?) -> EventData {
        switch self {
        case .temperature(let c): return .temperature(celsius: c, location: location)
        case .motion: return .motion(location: location)
        case .humidity(let p): return .humidity(percent: p, location: location)
        case .pressure(let h): return .pressure(hpa: h, location: location)
        case .contact(let open): return .contact(open: open, location: location)
        case .battery(let p): return .battery(percent: p)
        }
    }

    /// For logs and messages: `21.5 °C`, `45.2 %RH`, `1009.1 hPa`, `open`.
    public var display: String {
        switch self {
        case .temperature(let c): return "\(JSONWriter.number(roundedCelsius(c))) °C"
        case .humidity(let p): return "\(JSONWriter.number(roundedReading(p))) %RH"
        case .pressure(let h): return "\(JSONWriter.number(roundedReading(h))) hPa"
        case .battery(let p): return "\(JSONWriter.number(roundedReading(p))) % battery"
        case .contact(let open): return open ? "open" : "closed"
        case .motion: return "motion"
        }
    }

    /// The bare value a retained state topic carries: `21.5`, `ON`/`OFF` for contacts (open is ON,
    /// as Home Assistant's binary sensors expect), `ON` for motion.
    public var stateText: String {
        switch self {
        case .temperature(let c): return JSONWriter.number(roundedCelsius(c))
        case .humidity(let v), .pressure(let v), .battery(let v): return JSONWriter.number(roundedReading(v))
        case .contact(let open): return open ? "ON" : "OFF"
        case .motion: return "ON"
        }
    }
}

extension EventData {
    /// The reading an event carries, nil for alerts and thermostat commands.
    public var readingValue: ReadingValue? {
        switch self {
        case .temperature(let c, _): return .temperature(celsius: c)
        case .motion: return .motion
        case .humidity(let p, _): return .humidity(percent: p)
        case .pressure(let h, _): return .pressure(hpa: h)
        case .contact(let open, _): return .contact(open: open)
        case .battery(let p): return .battery(percent: p)
        case .alertRaised, .alertResolved, .thermostatCommand: return nil
        }
    }
}
