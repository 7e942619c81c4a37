// One readable line per event for a person at a terminal: time, device, type, value, seq.

import Logging
import SensorgateCore

public enum ConsoleEventLine {
    /// `color`: the type in its colour, the seq dimmed (ANSI), for a terminal (`sensorgate tail`).
    public static func line(for event: Event, color: Bool = false) -> String {
        guard color else { return "\(WallClock.localTimeOfDay(event.time))  \(message(for: event))" }
        let code: String
        switch event.type {
        case .temperatureReading: code = "36"
        case .motionDetected: code = "33"
        case .alertRaised: code = "1;31"
        case .alertResolved: code = "32"
        case .thermostatCommand: code = "35"
        case .humidityReading: code = "34"
        case .pressureReading: code = "96"
        case .contactChanged: code = "93"
        case .batteryLevel: code = "92"
        }
        return "\u{1B}[2m\(WallClock.localTimeOfDay(event.time))\u{1B}[0m  \u{1B}[1m\(pad(event.subject, 12))\u{1B}[0m \u{1B}[\(code)m\(pad(event.type.rawValue, 18))\u{1B}[0m \(value(of: event))  \u{1B}[2m#\(event.seq)\u{1B}[0m"
    }

    /// The line as a log record (the handler adds time, level and the journal or JSON shape):
    /// at debug, or at info when events are echoed because stderr is a terminal.
    public static func log(_ event: Event, to logger: Logger) {
        logger.log(level: logger.logLevel <= .debug ? .debug : .info, "\(message(for: event))",
                   metadata: ["device": "\(event.subject)", "type": "\(event.type.rawValue)", "seq": "\(event.seq)"])
    }

    /// Device, type, value and location, then `#seq`.
    public static func message(for event: Event) -> String {
        "\(pad(event.subject, 12)) \(pad(event.type.rawValue, 18)) \(value(of: event))  #\(event.seq)"
    }

    private static func value(of event: Event) -> String {
        let value: String
        switch event.data {
        case .temperature(let celsius, let location):
            value = "\(roundedCelsius(celsius)) °C" + (location.map { "  \($0)" } ?? "")
        case .motion(let location):
            value = "motion" + (location.map { " in \($0)" } ?? "")
        case .alertRaised(let a): value = "\(a.severity.rawValue): \(a.message)"
        case .alertResolved(let a): value = "resolved: \(a.message)"
        case .thermostatCommand(let c):
            value = "output \(c.outputOn ? "on" : "off") (\(c.mode.rawValue), target \(c.target) °C): \(c.reason)"
        case .humidity(_, let location), .pressure(_, let location), .contact(_, let location):
            value = (event.data.readingValue?.display ?? "") + (location.map { "  \($0)" } ?? "")
        case .battery:
            value = event.data.readingValue?.display ?? ""
        }
        return value
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
