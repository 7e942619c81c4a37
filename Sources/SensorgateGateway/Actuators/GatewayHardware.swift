// The hardware the gateway opens by path: GPIO output lines for thermostat actuators.

public enum GatewayHardware {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    @Sendable public static func openOutputLine(chip: String, line: Int, activeLow: Bool, consumer: String) throws -> any OutputLine {
        throw Unavailable(description: "GPIO output lines are not supported by this build")
    }
}
