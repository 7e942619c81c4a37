// Rule effects at the edge: `publish` actions and thermostat actuators. An mqtt actuator is a
// keyed command through the forwarder (latest wins, re-sent after every reconnect); a gpio
// actuator drives an output line through the small OutputLine protocol.

import Foundation
import Logging
import SensorgateCore

/// One output line (a relay on a GPIO pin). `set` is called with the logical state; the line
/// applies active_low itself.
public protocol OutputLine: Sendable {
    func set(_ active: Bool) throws
}

public final class Actuators: RuleEffects, @unchecked Sendable {
    private let forwarder: MQTTForwarder?
    private let logger: Logger
    private let openLine: @Sendable (_ chip: String, _ line: Int, _ activeLow: Bool, _ consumer: String) throws -> any OutputLine
    private let lock = NSLock()
    private var lines: [String: any OutputLine] = [:]
    private var failing: Set<String> = []

    public init(forwarder: MQTTForwarder?, logger: Logger,
                openLine: @escaping @Sendable (String, Int, Bool, String) throws -> any OutputLine) {
        self.forwarder = forwarder
        self.logger = logger
        self.openLine = openLine
    }

    public func publish(topic: String, payload: String, retain: Bool, qos: Int) {
        forwarder?.send(.init(topic: topic, payload: Array(payload.utf8), retain: retain, qos: qos))
    }

    public func drive(thermostat: ThermostatConfig, on: Bool) {
        switch thermostat.actuator {
        case .mqtt(let topic, let payloadOn, let payloadOff):
            forwarder?.send(.init(topic: topic, payload: Array((on ? payloadOn : payloadOff).utf8), retain: false, qos: 1,
                                  key: "thermostat/\(thermostat.name)"))
        case .gpio(let chip, let line, let activeLow):
            // Keyed by the line, so a reload that moves the actuator opens the new line.
            let key = "\(chip):\(line):\(activeLow)"
            lock.withLock {
                do {
                    let output: any OutputLine
                    if let open = lines[key] { output = open } else {
                        output = try openLine(chip, line, activeLow, "sensorgate-\(thermostat.name)")
                        lines[key] = output
                    }
                    try output.set(on)
                    if failing.remove(thermostat.name) != nil { logger.notice("thermostat \(thermostat.name): \(chip) line \(line) works again") }
                } catch {
                    lines[key] = nil
                    if failing.insert(thermostat.name).inserted {
                        logger.error("thermostat \(thermostat.name): cannot drive \(chip) line \(line): \(error)")
                    }
                }
            }
        }
    }
}
