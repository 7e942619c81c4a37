import Foundation
import Testing
import SensorgateAdapters
import SensorgateCore

/// One gateway with all five adapters, as `make run` runs it, on fixture inputs: a Pi-shaped
/// sysfs tree, a socat pty for the serial port, a recording of gpio_v2_line_event records for
/// the GPIO line, an MQTT topic on a real mosquitto, and a simulated sensor.
@Suite(.serialized) struct AllAdaptersTests {
    static let sys = TestPaths.packageRoot.appendingPathComponent("Tests/SensorgateAdaptersTests/Fixtures/sys").path

    @Test func everyAdapterDeliversToTheBroker() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let port = dir.url.appendingPathComponent("ttyV0").path, other = dir.url.appendingPathComponent("ttyV1").path
        let socat = try spawnWithDefaultSignals("/usr/bin/socat", ["pty,raw,echo=0,link=\(port)", "pty,raw,echo=0,link=\(other)"],
                                                output: dir.url.appendingPathComponent("socat.log").path)
        defer { kill(socat, SIGKILL); var s: Int32 = 0; waitpid(socat, &s, 0) }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: other) { await pause(0.02) }

        // Two PIR triggers, the first with contact bounce, at known kernel times.
        let t0: UInt64 = 1_795_694_400_000_000_000  // 2026-11-26T12:00:00Z in ns
        let ms: UInt64 = 1_000_000
        var recording: [UInt8] = []
        for (i, (at, edge)) in [(0, LineEdge.rising), (ms, .falling), (2 * ms, .rising), (2000 * ms, .falling),
                                (5000 * ms, .rising), (7000 * ms, .falling)].enumerated() {
            recording += GPIOLineEvent(timestampNanoseconds: t0 + at, edge: edge, offset: 17, seqno: UInt32(i + 1), lineSeqno: UInt32(i + 1)).record
        }
        let gpio = dir.url.appendingPathComponent("gpio-recording")
        try Data(recording).write(to: gpio)

        let config = try dir.write("all.yaml", """
            gateway: { id: hw, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            devices:
              - { id: cpu, profile: cpu-thermal, path: "\(Self.sys)/class/thermal/thermal_zone0/temp", interval: 200ms }
              - { id: w1-good, profile: ds18b20, path: "\(Self.sys)/bus/w1/devices/28-0316a2795aff/w1_slave", interval: 200ms }
              - { id: w1-bad, profile: ds18b20, path: "\(Self.sys)/bus/w1/devices/28-0416b1c2d3ff/w1_slave", interval: 200ms }
              - { id: w1-gone, profile: ds18b20, path: "\(Self.sys)/bus/w1/devices/28-0000000000ff/w1_slave", interval: 200ms }
              - { id: tmp117, profile: iio-temp-raw, path: "\(Self.sys)/bus/iio/devices/iio:device1/in_temp_raw", interval: 200ms }
              - { id: arduino, profile: arduino-serial, port: "\(port)" }
              - { id: hall, profile: hc-sr501, chip: "\(gpio.path)", line: 17 }
              - { id: garage, profile: zigbee2mqtt-temperature, topic: zigbee2mqtt/garage }
              - { id: sim, adapter: simulated, kind: temperature, interval: 200ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { $0.lines.contains { $0.hasPrefix("sensorgate/hw/TemperatureReading/cpu ") } })
        await pause(0.5)
        let fd = open(other, O_WRONLY | O_NOCTTY)
        _ = "T=21.5\r\n".withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let pub = Process()
        pub.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        pub.arguments = ["-p", String(broker.port), "-t", "zigbee2mqtt/garage", "-m", #"{"temperature":4.5,"humidity":80}"#]
        try pub.run()
        pub.waitUntilExit()

        func celsius(_ device: String) -> Double? {
            subscriber.events.first { $0.topic == "sensorgate/hw/TemperatureReading/\(device)" }
                .flatMap { ($0.json["data"] as? [String: Any])?["celsius"] as? Double }
        }
        #expect(await subscriber.waitFor { s in ["cpu", "w1-good", "tmp117", "arduino", "garage", "sim"].allSatisfy { d in
            s.events.contains { $0.topic == "sensorgate/hw/TemperatureReading/\(d)" } } })
        #expect(celsius("cpu") == 48.312)
        #expect(celsius("w1-good") == 21.875)
        #expect(celsius("tmp117") == 22.938)
        #expect(celsius("arduino") == 21.5)
        #expect(celsius("garage") == 4.5)
        let motion = subscriber.events.filter { $0.topic == "sensorgate/hw/MotionDetected/hall" }.compactMap { $0.json["time"] as? String }
        #expect(motion == ["2026-11-26T12:00:00.000Z", "2026-11-26T12:00:05.000Z"])  // bounce swallowed, kernel times kept
        #expect(await gateway.waitFor { $0.contains("w1-bad: crcFailed") && $0.contains("w1-gone: missing") })
        #expect(!subscriber.lines.contains { $0.contains("/w1-bad ") || $0.contains("/w1-gone ") })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }
}
