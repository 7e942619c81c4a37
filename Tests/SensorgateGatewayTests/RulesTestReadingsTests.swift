import Foundation
import Testing
import SensorgateCore

/// `sensorgate rules test` with the readings beside temperature: humidity, contacts and battery
/// levels in recorded events (short form and full CloudEvents) drive their conditions.
@Suite struct RulesTestReadingsTests {
    @Test func humidityContactAndBatteryRulesReplay() async throws {
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: pi, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            mqtt: { url: "mqtt://127.0.0.1:1883" }
            devices:
              - { id: bath, profile: zigbee2mqtt-aqara-weather, topic: zigbee2mqtt/bath }
              - { id: door, profile: zigbee2mqtt-contact, topic: zigbee2mqtt/door }
            rules:
              - name: damp
                when: { humidity: { device: bath, above: 65, for: 10m } }
                then: [ { alert: { severity: info, message: "{device} at {humidity} %RH" } } ]
              - name: door-open
                when: { contact: { device: door, open: true, for: 5m } }
                then: [ { alert: { severity: warning, message: "{device} {contact} for 5 minutes" } } ]
              - name: low-battery
                when: { battery: { device: "*", below: 20 } }
                then: [ { alert: { severity: info, message: "{device} battery at {battery} %" } } ]
              - name: storm
                when: { pressure: { device: bath, below: 980 } }
                then: [ { publish: { topic: home/storm, payload: "ON" } } ]
            """)
        let recorded = Event(id: EventID("0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11")!, source: "sensorgate/pi", subject: "door",
                             time: Timestamp(rfc3339: "2026-11-26T12:00:00Z")!, seq: 5, data: .contact(open: true, location: "hall"))
        let events = try dir.write("day.jsonl", """
            {"time":"2026-11-26T12:00:00Z","type":"HumidityReading","subject":"bath","data":{"percent":70}}
            \(recorded.cloudEventJSON())
            {"time":"2026-11-26T12:03:00Z","type":"BatteryLevel","subject":"door","data":{"percent":18}}
            {"time":"2026-11-26T12:04:00Z","type":"PressureReading","subject":"bath","data":{"hpa":975.5}}
            {"time":"2026-11-26T12:20:00Z","type":"ContactChanged","subject":"door","data":{"open":false}}
            {"time":"2026-11-26T12:30:00Z","type":"HumidityReading","subject":"bath","data":{"percent":60}}
            """)
        let (status, output) = try await runSensorgate(["rules", "test", "--config", config.path, "--events", events.path],
                                                       environment: ["TZ": "UTC"])
        #expect(status == 0, "\(output)")
        let alerts = output.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("{"), let event = try? Event(cloudEventJSON: String(line)) else { return nil }
            switch event.data {
            case .alertRaised(let a): return "raise \(a.rule) \(event.time.rfc3339): \(a.message)"
            case .alertResolved(let a): return "resolve \(a.rule) \(event.time.rfc3339)"
            default: return nil
            }
        }
        #expect(alerts == [
            "raise low-battery 2026-11-26T12:03:00.000Z: door battery at 18 %",
            "raise door-open 2026-11-26T12:05:00.000Z: door open for 5 minutes",
            "raise damp 2026-11-26T12:10:00.000Z: bath at 70 %RH",
            "resolve door-open 2026-11-26T12:20:00.000Z",
            "resolve damp 2026-11-26T12:30:00.000Z",
        ])
        #expect(output.contains(#"{"publish":{"payload":"ON","qos":1,"retain":false,"topic":"home/storm"},"time":"2026-11-26T12:04:00.000Z"}"#))
        #expect(output.contains("6 event(s) replayed"))
    }
}
