// How a sensor model's raw data becomes a reading: the parsing half of a device profile.

extension EventType {
    /// The events a sensor's readings become (the others come from rules and thermostats).
    public static let readings: [EventType] = [.temperatureReading, .motionDetected, .humidityReading, .pressureReading,
                                               .contactChanged, .batteryLevel]

    /// The name of the channel a reading of this type comes from, in state topics and Home
    /// Assistant ids (`sensorgate/pi/state/bme/humidity`). One device has at most one channel
    /// per event type, so the type names the channel.
    public var channelName: String {
        switch self {
        case .temperatureReading: return "temperature"
        case .motionDetected: return "motion"
        case .humidityReading: return "humidity"
        case .pressureReading: return "pressure"
        case .contactChanged: return "contact"
        case .batteryLevel: return "battery"
        case .alertRaised, .alertResolved: return "alert"
        case .thermostatCommand: return "thermostat"
        }
    }

    /// The reading type a channel name stands for.
    public static func reading(channel name: String) -> EventType? {
        readings.first { $0.channelName == name }
    }

    /// The units a sensor may report this type in (`unit:`), the event's own unit first.
    public var units: [ReadingUnit] {
        switch self {
        case .temperatureReading: return [.celsius, .millicelsius, .fahrenheit]
        case .humidityReading: return [.percent, .millipercent]
        case .pressureReading: return [.hpa, .kpa, .pa]
        case .batteryLevel: return [.percent]
        default: return []
        }
    }

    /// True for readings that carry a number (filters and thresholds apply to them).
    public var isNumeric: Bool { !units.isEmpty }

    /// The unit the event carries: °C, %, hPa.
    public var eventUnit: ReadingUnit? { units.first }
}

/// The unit a sensor reports a value in. Each converts to its event's unit (°C for temperature,
/// %RH for humidity, hPa for pressure, % for battery); sysfs units follow the kernel's ABI:
/// thermal, hwmon and IIO temperatures in millidegrees, IIO and hwmon humidity in milli-percent,
/// IIO pressure in kPa.
public enum ReadingUnit: String, Sendable, CaseIterable {
    case celsius, millicelsius, fahrenheit
    case percent, millipercent
    case hpa, kpa, pa

    public func toCelsius(_ value: Double) -> Double { convert(value) }

    /// `value` in the event's unit.
    public func convert(_ value: Double) -> Double {
        switch self {
        case .celsius, .percent, .hpa: return value
        case .millicelsius, .millipercent: return value / 1000
        case .fahrenheit: return (value - 32) * 5 / 9
        case .kpa: return value * 10
        case .pa: return value / 100
        }
    }

    /// How the event's unit is written for people: °C, %RH, hPa, %.
    public var symbol: String {
        switch self {
        case .celsius, .millicelsius, .fahrenheit: return "°C"
        case .percent, .millipercent: return "%"
        case .hpa, .kpa, .pa: return "hPa"
        }
    }
}

/// The name the temperature units had before there were other readings.
public typealias TemperatureUnit = ReadingUnit

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
    /// A JSON payload; `field` is a dotted path; for motion, `motionWhen` is the value meaning
    /// motion; for a contact, the value meaning open (`open_when`).
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
    public var unit: ReadingUnit
    /// Readings outside, in the event's unit (°C, %RH, hPa, %), are rejected and counted.
    public var validRange: ClosedRange<Double>?

    public init(event: EventType, format: ReadingFormat, unit: ReadingUnit = .celsius, validRange: ClosedRange<Double>? = nil) {
        self.event = event
        self.format = format
        self.unit = unit
        self.validRange = validRange
    }
}
