import Foundation
import Testing

/// `sensorgate tail` against a real broker and gateway: live lines in the console's format,
/// filters, raw CloudEvents, Ctrl-C, and an unreachable broker.
@Suite(.serialized) struct TailCommandTests {
    static func config(_ dir: TemporaryDirectory, port: Int) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: tailed, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(port)" }
            devices:
              - { id: room-1, adapter: simulated, kind: temperature, interval: 50ms, location: first room }
              - { id: room-2, adapter: simulated, kind: temperature, interval: 50ms }
              - { id: hall, adapter: simulated, kind: motion, rate: 10 }
            """)
    }

    @Test func tailPrintsLiveEventsInTheConsoleFormatFilteredAndStopsOnCtrlC() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port)
        // At debug a gateway whose stderr is a pipe prints its event lines, read by `seqs`.
        let gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])
        let tail = try GatewayProcess(["tail", "--config", config.path, "--device", "room-*", "--type", "TemperatureReading"])
        #expect(await tail.waitFor { $0.components(separatedBy: "TemperatureReading").count > 10 })
        tail.signal(SIGINT)
        #expect(await tail.waitForExit() == 0)
        let lines = tail.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("tail: sensorgate/tailed/TemperatureReading/+ on 127.0.0.1:\(broker.port)") == true)
        let events = lines.filter { $0.contains("TemperatureReading") && $0.contains("#") }
        #expect(events.contains { $0.contains("  room-1       TemperatureReading ") && $0.contains("°C  first room  #") })
        #expect(events.contains { $0.contains("  room-2       TemperatureReading ") })
        #expect(!tail.output.contains("MotionDetected"))
        #expect(!tail.output.contains("\u{1B}["), "no colour when stdout is not a terminal")
        // The same lines the gateway printed, seq for seq.
        let seqs = tail.seqs
        #expect(!seqs.isEmpty && Set(seqs).isSubset(of: Set(gateway.seqs)))
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func tailJSONPrintsTheCloudEventsAsReceivedAndExitsOnSIGTERM() async throws {
        let broker = try Broker()
        defer { withExtendedLifetime(broker) {} }
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: broker.port)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        let tail = try GatewayProcess(["tail", "--config", config.path, "--json", "--device", "hall"])
        #expect(await tail.waitFor { $0.components(separatedBy: "\"specversion\"").count > 3 })
        tail.signal(SIGTERM)
        #expect(await tail.waitForExit() == 0)
        let objects = tail.output.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(objects.count >= 3)
        #expect(objects.allSatisfy { $0["type"] as? String == "MotionDetected" && $0["subject"] as? String == "hall" && $0["seq"] != nil })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func tailSaysClearlyWhenTheBrokerCannotBeReached() async throws {
        let dir = try TemporaryDirectory()
        let config = try Self.config(dir, port: try Broker.freePort())
        let (status, output) = try await runSensorgate(["tail", "--config", config.path])
        #expect(status == 1)
        #expect(output.contains("error: cannot reach the broker 127.0.0.1:"))
        #expect(output.contains("Connection refused"))

        let bad = try await runSensorgate(["tail", "--config", config.path, "--type", "Temperature"])
        #expect(bad.0 != 0)
        #expect(bad.1.contains("--type must be one of TemperatureReading, MotionDetected"))
        let noBroker = try dir.write("nobroker.yaml", "gateway: { id: x }\n")
        let none = try await runSensorgate(["tail", "--config", noBroker.path])
        #expect(none.0 == 1)
        #expect(none.1.contains("error: the config has no 'mqtt' section: there is no broker to tail"))
    }
}
