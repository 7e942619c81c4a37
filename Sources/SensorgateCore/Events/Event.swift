// The events sensorgate emits. Value types; CloudEvents JSON (Event+CloudEvents.swift) is their
// only wire form.

public enum EventType: String, Sendable, CaseIterable {
    case temperatureReading = "TemperatureReading"
    case motionDetected = "MotionDetected"
    case alertRaised = "AlertRaised"
    case alertResolved = "AlertResolved"
    case thermostatCommand = "ThermostatCommand"
    case humidityReading = "HumidityReading"
    case pressureReading = "PressureReading"
    case contactChanged = "ContactChanged"
    case batteryLevel = "BatteryLevel"
}

public enum AlertSeverity: String, Sendable, CaseIterable {
    case info, warning, critical
}

public enum ThermostatMode: String, Sendable, CaseIterable {
    case heat, cool, off
}

public struct AlertData: Sendable, Equatable {
    public var rule: String
    public var severity: AlertSeverity
    public var message: String

    public init(rule: String, severity: AlertSeverity, message: String) {
        self.rule = rule
        self.severity = severity
        self.message = message
    }
}

public struct ThermostatCommandData: Sendable, Equatable {
    public var thermostat: String
    public var outputOn: Bool
    public var mode: ThermostatMode
    public var target: Double
    public var celsius: Double?
    public var reason: String

    public init(thermostat: String, outputOn: Bool, mode: ThermostatMode, target: Double, celsius: Double?, reason: String) {
        self.thermostat = thermostat
        self.outputOn = outputOn
        self.mode = mode
        self.target = target
        self.celsius = celsius
        self.reason = reason
    }
}

public enum EventData: Sendable, Equatable {
    case temperature(celsius: Double, location: String?)
    case motion(location: String?)
    case alertRaised(AlertData)
    case alertResolved(AlertData)
    case thermostatCommand(ThermostatCommandData)
    /// Relative humidity in %RH.
    case humidity(percent: Double, location: String?)
    /// Air pressure in hPa.
    case pressure(hpa: Double, location: String?)
    /// A door or window contact: open or closed.
    case contact(open: Bool, location: String?)
    /// A battery's charge in percent, where a payload carries one.
    case battery(percent: Double)

    public var type: EventType {
        switch self {
        case .temperature: return .temperatureReading
        case .motion: return .motionDetected
        case .alertRaised: return .alertRaised
        case .alertResolved: return .alertResolved
        case .thermostatCommand: return .thermostatCommand
        case .humidity: return .humidityReading
        case .pressure: return .pressureReading
        case .contact: return .contactChanged
        case .battery: return .batteryLevel
        }
    }
}

public struct Event: Sendable, Equatable {
    public var id: EventID
    /// `sensorgate/<gateway id>`
    public var source: String
    /// The device id, or the rule or thermostat name.
    public var subject: String
    public var time: Timestamp
    public var seq: UInt64
    public var data: EventData
    /// False while the host clock is not synchronized, so consumers know `time` may be wrong.
    public var clockSynced: Bool

    public init(id: EventID, source: String, subject: String, time: Timestamp, seq: UInt64, data: EventData, clockSynced: Bool = true) {
        self.id = id
        self.source = source
        self.subject = subject
        self.time = time
        self.seq = seq
        self.data = data
        self.clockSynced = clockSynced
    }

    public var type: EventType { data.type }

    /// `{prefix}/{gateway id}/{type}/{subject}`; `source` carries the gateway id.
    public func topic(prefix: String, gatewayID: String) -> String {
        "\(prefix)/\(gatewayID)/\(type.rawValue)/\(subject)"
    }
}

/// Celsius rounded to millidegrees: finer digits are noise from unit conversion.
public func roundedCelsius(_ value: Double) -> Double {
    (value * 1000).rounded() / 1000
}

/// Any reading rounded to three decimals (%RH, hPa, %): 101.325 kPa × 10 is 1013.2500000000001.
public func roundedReading(_ value: Double) -> Double {
    (value * 1000).rounded() / 1000
}
