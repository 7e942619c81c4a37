// Rule effects at the edge, on the pipeline's thread: `publish` actions and thermostat
// actuators. An mqtt actuator is a keyed command to the forwarder (latest wins, re-sent after
// every reconnect); a gpio actuator drives an output line through the small OutputLine protocol.

import Logging
import SensorgateCore
import SensorgateRuntime

/// One output line (a relay on a GPIO pin). `set` is called with the logical state; the line
/// applies active_low itself.
public protocol OutputLine {
    func set(_ active: Bool) throws
}

/// Confined to the pipeline's thread (it holds the open output lines).
public final class Actuators {
    private let commands: BoundedChannel<ForwarderCommand>?
    private let logger: Logger
    private let openLine: (_ chip: String, _ line: Int, _ activeLow: Bool, _ consumer: String) throws -> any OutputLine
    private var lines: [String: any OutputLine] = [:]
    private var failing: Set<String> = []

    /// `commands`: the forwarder's, nil without an `mqtt` section.
    public init(commands: BoundedChannel<ForwarderCommand>?, logger: Logger,
                openLine: @escaping (String, Int, Bool, String) throws -> any OutputLine) {
        self.commands = commands
        self.logger = logger
        self.openLine = openLine
    }

    public func publish(topic: String, payload: String, retain: Bool, qos: Int) {
        commands?.force(.init(topic: topic, payload: Array(payload.utf8), retain: retain, qos: qos))
    }

    /// `seq`: the ThermostatCommand event's, named in the log lines.
    public func drive(thermostat: ThermostatConfig, on: Bool, seq: UInt64? = nil) {
        var metadata: Logger.Metadata = ["thermostat": "\(thermostat.name)"]
        if let seq { metadata["seq"] = "\(seq)" }
        switch thermostat.actuator {
        case .mqtt(let topic, let payloadOn, let payloadOff):
            commands?.force(.init(topic: topic, payload: Array((on ? payloadOn : payloadOff).utf8), retain: false, qos: 1,
                                  key: "thermostat/\(thermostat.name)"))
        case .gpio(let chip, let line, let activeLow):
            // Keyed by the line, so a reload that moves the actuator opens the new line.
            let key = "\(chip):\(line):\(activeLow)"
            do {
                let output: any OutputLine
                if let open = lines[key] { output = open } else {
                    output = try openLine(chip, line, activeLow, "sensorgate-\(thermostat.name)")
                    lines[key] = output
                }
                try output.set(on)
                if failing.remove(thermostat.name) != nil {
                    logger.notice("thermostat \(thermostat.name): \(chip) line \(line) works again", metadata: metadata)
                }
            } catch {
                lines[key] = nil
                if failing.insert(thermostat.name).inserted {
                    logger.error("thermostat \(thermostat.name): cannot drive \(chip) line \(line): \(error)", metadata: metadata)
                }
            }
        }
    }
}
