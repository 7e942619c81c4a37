import Foundation
import Logging
import Testing
import SensorgateCore
import SensorgateRuntime
@testable import SensorgateGateway

/// The gpio actuator path above the OutputLine seam (this kernel has no GPIO to drive).
@Suite struct ActuatorsTests {
    /// Remembers what it was set to; fails its first `failures` opens, as a busy line would.
    final class RecordingLines: @unchecked Sendable {
        let lock = NSLock()
        var opened: [String] = []
        var values: [Bool] = []
        var failures: Int

        init(failures: Int = 0) { self.failures = failures }

        struct Line: OutputLine {
            let owner: RecordingLines
            func set(_ active: Bool) throws { owner.lock.withLock { owner.values.append(active) } }
        }

        func open(chip: String, line: Int, activeLow: Bool, consumer: String) throws -> any OutputLine {
            try lock.withLock {
                opened.append("\(chip):\(line):\(activeLow):\(consumer)")
                if failures > 0 {
                    failures -= 1
                    throw GPIOFailure()
                }
            }
            return Line(owner: self)
        }
    }

    struct GPIOFailure: Error, CustomStringConvertible { var description: String { "line busy" } }

    func thermostat(line: Int = 27) -> ThermostatConfig {
        ThermostatConfig(name: "boiler", device: "t", mode: .heat, target: 21, hysteresis: 0.5, minOn: .seconds(60), minOff: .seconds(60),
                         staleAfter: .seconds(300), maxRun: nil, actuator: .gpio(chip: "/dev/gpiochip0", line: line, activeLow: true))
    }

    @Test func opensTheLineOnceAndFollowsTheCommands() async {
        let lines = RecordingLines()
        let actuators = Actuators(commands: nil, logger: Logger(label: "test"), openLine: { try lines.open(chip: $0, line: $1, activeLow: $2, consumer: $3) })
        actuators.drive(thermostat: thermostat(), on: false)
        actuators.drive(thermostat: thermostat(), on: true)
        actuators.drive(thermostat: thermostat(), on: false)
        #expect(lines.opened == ["/dev/gpiochip0:27:true:sensorgate-boiler"])
        #expect(lines.values == [false, true, false])
    }

    @Test func aLineThatCannotBeOpenedIsRetriedOnTheNextCommand() async {
        let lines = RecordingLines(failures: 1)
        let actuators = Actuators(commands: nil, logger: Logger(label: "test"), openLine: { try lines.open(chip: $0, line: $1, activeLow: $2, consumer: $3) })
        actuators.drive(thermostat: thermostat(), on: true)
        #expect(lines.values.isEmpty)
        actuators.drive(thermostat: thermostat(), on: true)
        #expect(lines.values == [true])
        #expect(lines.opened.count == 2)
    }

    @Test func aReloadThatMovesTheActuatorOpensTheNewLine() async {
        let lines = RecordingLines()
        let actuators = Actuators(commands: nil, logger: Logger(label: "test"), openLine: { try lines.open(chip: $0, line: $1, activeLow: $2, consumer: $3) })
        actuators.drive(thermostat: thermostat(line: 27), on: true)
        actuators.drive(thermostat: thermostat(line: 22), on: true)
        #expect(lines.opened.map { $0.split(separator: ":")[1] } == ["27", "22"])
    }

    @Test func anMQTTActuatorIsAKeyedCommandToTheForwarder() async {
        let commands = BoundedChannel<ForwarderCommand>(capacity: 10)
        let actuators = Actuators(commands: commands, logger: Logger(label: "test"), openLine: { _, _, _, _ in throw GPIOFailure() })
        var boiler = thermostat()
        boiler.actuator = .mqtt(topic: "home/boiler/set", payloadOn: "ON", payloadOff: "OFF")
        actuators.drive(thermostat: boiler, on: true)
        actuators.publish(topic: "home/alert", payload: "hot", retain: true, qos: 0)
        #expect(commands.take() == [
            ForwarderCommand(topic: "home/boiler/set", payload: Array("ON".utf8), retain: false, qos: 1, key: "thermostat/boiler"),
            ForwarderCommand(topic: "home/alert", payload: Array("hot".utf8), retain: true, qos: 0),
        ])
    }
}
