// One readable line per event for a person at a terminal: time, device, type, value, seq.

import Logging
import SensorgateCore

public enum ConsoleEventLine {
    public static func line(for event: Event) -> String {
        "\(WallClock.localTimeOfDay(event.time))  \(message(for: event))"
    }

    /// The line as a log record (the handler adds time, level and the journal or JSON shape):
    /// at debug, or at info when events are echoed because stderr is a terminal.
    public static func log(_ event: Event, to logger: Logger) {
        logger.log(level: logger.logLevel <= .debug ? .debug : .info, "\(message(for: event))",
                   metadata: ["device": "\(event.subject)", "type": "\(event.type.rawValue)", "seq": "\(event.seq)"])
    }

    /// Device, type, value and location, then `#seq`.
    public static func message(for event: Event) -> String {
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
        }
        return "\(pad(event.subject, 12)) \(pad(event.type.rawValue, 18)) \(value)  #\(event.seq)"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
