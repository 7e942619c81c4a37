// The hardware the gateway opens by path: GPIO output lines for thermostat actuators.

import SensorgateAdapters

extension GPIOOutputLine: OutputLine {}

public enum GatewayHardware {
    /// Requests `line` on `chip` as an output (GPIO uAPI v2), initially off.
    @Sendable public static func openOutputLine(chip: String, line: Int, activeLow: Bool, consumer: String) throws -> any OutputLine {
        try GPIOOutputLine(chip: chip, line: line, activeLow: activeLow, consumer: consumer)
    }
}
