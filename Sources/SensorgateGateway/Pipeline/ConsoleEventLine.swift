// One readable line per event for a person at a terminal: time, device, type, value, seq.

import SensorgateCore

public enum ConsoleEventLine {
    public static func line(for event: Event) -> String {
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
        return "\(WallClock.localTimeOfDay(event.time))  \(pad(event.subject, 12)) \(pad(event.type.rawValue, 18)) \(value)  #\(event.seq)"
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
