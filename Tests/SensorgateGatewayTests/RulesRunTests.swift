import Foundation
import Testing

/// Rules and a thermostat in a running gateway against a real mosquitto: alerts are events
/// with their own seq, the actuator gets its commands, a clean stop turns the output off, and a
/// restart does not raise a raised alert again.
@Suite(.serialized) struct RulesRunTests {
    static func config(_ dir: TemporaryDirectory, port: Int) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: test-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(port)" }
            devices:
              - { id: probe, adapter: simulated, kind: temperature, interval: 50ms, start: 25, step: 0 }
            rules:
              - name: warm
                when: { temperature: { device: probe, above: 24, for: 1s } }
                then:
                  - alert: { severity: warning, message: "{device} at {celsius} °C" }
                  - publish: { topic: test/fan/set, payload: "ON" }
            thermostats:
              - name: heater
                device: probe
                target: 30
                min_on: 0s
                min_off: 0s
                stale_after: 5s
                actuator: { mqtt: { topic: test/heater/set, payload_on: "ON", payload_off: "OFF" } }
            """)
    }

    @Test func alertsCommandsAndStateAcrossARestart() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port, filter: "#")
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let config = try Self.config(dir, port: broker.port)

        let first = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { $0.lines.contains { $0.hasPrefix("sensorgate/test-gw/AlertRaised/warm ") } })
        #expect(await subscriber.waitFor { $0.lines.contains("test/heater/set ON") && $0.lines.contains("test/fan/set ON") })
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        // Fail-safe: the heater is switched off before the gateway goes.
        #expect(await subscriber.waitFor(timeout: 5) { $0.lines.filter { $0.hasPrefix("test/heater/set") }.last == "test/heater/set OFF" })
        let commands = subscriber.events.filter { $0.topic == "sensorgate/test-gw/ThermostatCommand/heater" }
        let reasons = commands.compactMap { ($0.json["data"] as? [String: Any])?["reason"] as? String }
        #expect(reasons.first == "start: output off")
        #expect(reasons.last == "fail-safe: gateway stopping")

        let second = try GatewayProcess(["run", "--config", config.path])
        #expect(await second.waitFor { $0.contains("rule state restored") && $0.contains("1 alert(s) still raised") })
        #expect(await subscriber.waitFor { $0.lines.filter { $0.hasPrefix("test/heater/set") }.last == "test/heater/set ON" })
        await pause(1.5)  // longer than the rule's `for`
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        #expect(await subscriber.waitFor(timeout: 5) { $0.lines.filter { $0.hasPrefix("test/heater/set") }.last == "test/heater/set OFF" })

        let raised = subscriber.lines.filter { $0.hasPrefix("sensorgate/test-gw/AlertRaised/warm ") }
        #expect(raised.count == 1, "the restart raised the alert again")
        #expect(subscriber.lines.filter { $0 == "test/fan/set ON" }.count == 1)
        // Readings, alerts and commands share one contiguous sequence.
        let seqs = MQTTForwardingTests.firstArrivals(subscriber.seqs)
        #expect(seqs == Array(1...UInt64(seqs.count)))
    }

    /// Damaged rule state says so once and starts fresh; it is not "restored, saved
    /// 125824951038s ago".
    @Test func damagedRuleStateStartsFreshAndSaysSo() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port)
        let first = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await first.waitFor { $0.contains("#5") })
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        let db = dir.url.appendingPathComponent("state/sensorgate.db").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [db, "UPDATE rule_state SET json = '{\"version\": 1, \"rules\": [garbage', saved_wall_ms = 12"]
        try p.run()
        p.waitUntilExit()
        let second = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        #expect(await second.waitFor { $0.contains("#5") })
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0)
        #expect(second.output.contains("the saved rule state is not JSON"))
        #expect(second.output.contains("start fresh"))
        #expect(!second.output.contains("rule state restored"))
    }
}
