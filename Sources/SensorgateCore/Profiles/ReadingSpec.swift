// How a sensor model's raw data becomes a reading: the parsing half of a device profile.

extension EventType {
    /// The events a sensor's readings become (the others come from rules and thermostats).
    public static let readings: [EventType] = [.temperatureReading, .motionDetected]
}

public enum TemperatureUnit: String, Sendable, CaseIterable {
    case celsius, millicelsius, fahrenheit

    public func toCelsius(_ value: Double) -> Double {
        switch self {
        case .celsius: return value
        case .millicelsius: return value / 1000
        case .fahrenheit: return (value - 32) * 5 / 9
        }
    }
}

public enum LineEdge: String, Sendable, CaseIterable {
    case rising, falling
}

public enum EdgeSelection: String, Sendable, CaseIterable {
    case rising, falling, both
}

public enum ReadingFormat: Sendable, Equatable {
    case integer
    case float
    /// The w1-therm driver's two-line `w1_slave` file, CRC verdict included.
    case w1Slave
    /// A regular expression with a named group `value`.
    case regex(pattern: String)
    /// A JSON payload; `field` is a dotted path; for motion, `motionWhen` is the value meaning motion.
    case json(field: [String], motionWhen: JSONValue?)
    /// GPIO edges.
    case edge(EdgeSelection, activeLow: Bool)

    public var name: String {
        switch self {
        case .integer: return "integer"
        case .float: return "float"
        case .w1Slave: return "w1_slave"
        case .regex: return "regex"
        case .json: return "json"
        case .edge: return "edge"
        }
    }

    public static let names = ["integer", "float", "w1_slave", "regex", "json", "edge"]
}

public struct ReadingSpec: Sendable, Equatable {
    public var event: EventType
    public var format: ReadingFormat
    public var unit: TemperatureUnit
    /// Readings outside, in °C, are rejected and counted.
    public var validRange: ClosedRange<Double>?

    public init(event: EventType, format: ReadingFormat, unit: TemperatureUnit = .celsius, validRange: ClosedRange<Double>? = nil) {
        self.event = event
        self.format = format
        self.unit = unit
        self.validRange = validRange
    }
}
