import Foundation
import Testing

/// Retained state topics, Home Assistant discovery and climate commands in a running gateway
/// against a real mosquitto (without Home Assistant; `make test-ha` adds a real one), and filters
/// at work in the pipeline.
@Suite(.serialized) struct HomeAssistantGatewayTests {
    static let sys = TestPaths.packageRoot.appendingPathComponent("Tests/SensorgateAdaptersTests/Fixtures/sys").path

    static func config(_ dir: TemporaryDirectory, port: Int, extraDevices: String = "") throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: ha-gw, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            mqtt: { url: "mqtt://127.0.0.1:\(port)" }
            homeassistant: {}
            devices:
              - { id: bme, profile: bme280, path: "\(sys)/bus/iio/devices/iio:device0", interval: 200ms, location: living room }
              - { id: window, profile: zigbee2mqtt-contact, topic: zigbee2mqtt/window }
            \(extraDevices)
            rules:
              - name: damp
                when: { humidity: { device: bme, above: 40 } }
                then: [ { alert: { severity: info, message: "{device} at {humidity} %RH" } } ]
            thermostats:
              - { name: living, device: bme, target: 20, min_on: 0s, min_off: 0s, actuator: { mqtt: { topic: test/relay/set } } }
            """)
    }

    /// The retained messages under `filter` now, as "topic payload" lines (a fresh subscriber gets them at once).
    static func retained(port: Int, _ filter: String) async throws -> [String] {
        let dir = try TemporaryDirectory()
        let out = dir.url.appendingPathComponent("retained.txt").path
        let pid = try spawnWithDefaultSignals("/usr/bin/mosquitto_sub", ["-p", String(port), "-t", filter, "-v", "--retained-only", "-W", "2"],
                                              output: out)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 { await pause(0.05) }
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Timed out") }
    }

    static func publish(port: Int, _ topic: String, _ payload: String?, retain: Bool = false) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_pub")
        p.arguments = ["-p", String(port), "-t", topic, "-q", "1"] + (retain ? ["-r"] : []) + (payload.map { ["-m", $0] } ?? ["-n"])
        try p.run()
        p.waitUntilExit()
    }

    @Test func statesDiscoveryCommandsAndRemoval() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port, filter: "#")
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime(dir) {} }
        let port = broker.port
        // A config this gateway published in an earlier life, for a device since removed.
        let ghost = "homeassistant/sensor/sensorgate_ha-gw/ghost_temperature/config"
        try Self.publish(port: port, ghost, #"{"name":"Temperature","state_topic":"x","unique_id":"sensorgate_ha-gw_ghost_temperature"}"#, retain: true)
        let config = try Self.config(dir, port: port)
        var gateway = try GatewayProcess(["run", "--config", config.path])

        // Readings, their retained states, the alert and the thermostat's state.
        #expect(await subscriber.waitFor { s in s.lines.contains("sensorgate/ha-gw/state/bme/pressure 1009.136") })
        try Self.publish(port: port, "zigbee2mqtt/window", #"{"contact":false,"battery":88}"#)
        #expect(await subscriber.waitFor { s in s.lines.contains("sensorgate/ha-gw/state/window/contact ON") })
        let retained = try await Self.retained(port: port, "sensorgate/ha-gw/state/#")
        for line in ["sensorgate/ha-gw/state/bme/temperature 21.34", "sensorgate/ha-gw/state/bme/humidity 45.21",
                     "sensorgate/ha-gw/state/bme/pressure 1009.136", "sensorgate/ha-gw/state/window/contact ON",
                     "sensorgate/ha-gw/state/window/battery 88", "sensorgate/ha-gw/state/damp/alert ON",
                     "sensorgate/ha-gw/state/living/target 20", "sensorgate/ha-gw/state/living/mode heat",
                     "sensorgate/ha-gw/state/living/action idle", "sensorgate/ha-gw/state/living.stale/alert OFF"] {
            #expect(retained.contains(line), "\(line) is not retained: \(retained)")
        }
        // CloudEvents stay as they are, beside the states.
        let humidity = try #require(subscriber.events.first { $0.topic == "sensorgate/ha-gw/HumidityReading/bme" })
        #expect((humidity.json["data"] as? [String: Any])?["percent"] as? Double == 45.21)
        #expect((humidity.json["data"] as? [String: Any])?["location"] as? String == "living room")

        // Discovery: retained, one config per entity; the ghost of an earlier config is deleted.
        let configs = try await Self.retained(port: port, "homeassistant/#")
        let topics = configs.map { String($0.split(separator: " ")[0]) }
        #expect(Set(topics) == [
            "homeassistant/binary_sensor/sensorgate_ha-gw/status/config",
            "homeassistant/sensor/sensorgate_ha-gw/bme_temperature/config",
            "homeassistant/sensor/sensorgate_ha-gw/bme_humidity/config",
            "homeassistant/sensor/sensorgate_ha-gw/bme_pressure/config",
            "homeassistant/binary_sensor/sensorgate_ha-gw/window_contact/config",
            "homeassistant/sensor/sensorgate_ha-gw/window_battery/config",
            "homeassistant/climate/sensorgate_ha-gw/thermostat_living/config",
            "homeassistant/binary_sensor/sensorgate_ha-gw/alert_damp/config",
            "homeassistant/binary_sensor/sensorgate_ha-gw/thermostat_living_stale/config",
        ], "\(topics)")
        #expect(await gateway.waitFor { $0.contains("Home Assistant: removing \(ghost)") })

        // HA's birth message: every config again.
        let before = subscriber.lines.filter { $0.hasPrefix("homeassistant/sensor/sensorgate_ha-gw/bme_temperature/config ") }.count
        try Self.publish(port: port, "homeassistant/status", "online")
        #expect(await subscriber.waitFor { s in
            s.lines.filter { $0.hasPrefix("homeassistant/sensor/sensorgate_ha-gw/bme_temperature/config ") }.count > before })

        // HA sets the climate's target: a hold, announced as set from Home Assistant, and the state follows.
        try Self.publish(port: port, "sensorgate/ha-gw/command/living/target", "23.5")
        #expect(await subscriber.waitFor { s in s.events.contains { e in
            e.topic == "sensorgate/ha-gw/ThermostatCommand/living"
                && (e.json["data"] as? [String: Any])?["reason"] as? String == "set from Home Assistant: target 23.5 °C, mode heat" } })
        #expect(await subscriber.waitFor { s in s.lines.contains("sensorgate/ha-gw/state/living/action heating") })  // 21.34 <= 23
        #expect(await subscriber.waitFor { s in s.lines.contains("test/relay/set ON") })
        #expect(try await Self.retained(port: port, "sensorgate/ha-gw/state/living/target") == ["sensorgate/ha-gw/state/living/target 23.5"])
        // Nonsense from the command topic is counted and ignored.
        try Self.publish(port: port, "sensorgate/ha-gw/command/living/target", "hot")
        try Self.publish(port: port, "sensorgate/ha-gw/command/living/mode", "fan_only")
        #expect(await gateway.waitFor { $0.contains("living: malformed: Home Assistant set target \"hot\": a target must be a number of °C from 5 to 35; ignored") })

        // A restart keeps HA's target (persisted like a rule's hold).
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(subscriber.lines.contains("sensorgate/ha-gw/status offline"))
        gateway = try GatewayProcess(["run", "--config", config.path, "--log-level", "debug"])  // event lines are logged at debug
        #expect(await gateway.waitFor { $0.contains("ThermostatCommand  output") && $0.contains("target 23.5 °C") })

        // A reload without the window: its entities and states go.
        _ = try dir.write("gateway.yaml", try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "  - { id: window, profile: zigbee2mqtt-contact, topic: zigbee2mqtt/window }\n", with: ""))
        gateway.signal(SIGHUP)
        #expect(await gateway.waitFor { $0.contains("removed 2 entities the new config no longer has") })
        await pause(0.5)
        let after = try await Self.retained(port: port, "homeassistant/#").map { String($0.split(separator: " ")[0]) }
        #expect(!after.contains { $0.contains("window") }, "\(after)")
        #expect(after.contains("homeassistant/sensor/sensorgate_ha-gw/bme_temperature/config"))
        #expect(try await Self.retained(port: port, "sensorgate/ha-gw/state/window/#").isEmpty)
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    /// /status (and so the status page) shows every channel of a device with several: a
    /// BME280's three, a z2m contact's state in words beside its battery.
    @Test func statusShowsEveryChannelOfADevice() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let http = try Broker.freePort()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: s-gw, state_dir: ./state, profiles_dir: \(TestPaths.packageRoot.appendingPathComponent("Devices").path) }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            http: { listen: "127.0.0.1:\(http)" }
            devices:
              - { id: bme, profile: bme280, path: "\(Self.sys)/bus/iio/devices/iio:device0", interval: 200ms, location: living room }
              - { id: window, profile: zigbee2mqtt-contact, topic: zigbee2mqtt/window }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { s in s.events.contains { $0.topic == "sensorgate/s-gw/PressureReading/bme" } })
        try Self.publish(port: broker.port, "zigbee2mqtt/window", #"{"contact":false,"battery":88}"#)
        #expect(await subscriber.waitFor { s in s.events.contains { $0.topic == "sensorgate/s-gw/BatteryLevel/window" } })
        await pause(1.2)  // the board is copied out once a second
        let status = try #require(try await HTTPGet.get(port: http, "/status").json)
        let devices = (status["devices"] as? [[String: Any]]) ?? []
        let bme = try #require(devices.first { $0["id"] as? String == "bme" })
        #expect(bme["type"] as? String == "TemperatureReading")
        #expect(bme["value"] as? Double == 21.34)
        #expect(bme["unit"] as? String == "°C")
        let channels = (bme["channels"] as? [[String: Any]]) ?? []
        let byType = Dictionary(uniqueKeysWithValues: channels.compactMap { c in (c["type"] as? String).map { ($0, c) } })
        #expect(Set(byType.keys) == ["TemperatureReading", "HumidityReading", "PressureReading"])
        #expect(byType["HumidityReading"]?["value"] as? Double == 45.21)
        #expect(byType["HumidityReading"]?["unit"] as? String == "%RH")
        #expect(byType["PressureReading"]?["value"] as? Double == 1009.136)
        #expect(byType["PressureReading"]?["text"] as? String == "1009.136 hPa")
        let window = try #require(devices.first { $0["id"] as? String == "window" })
        #expect(window["type"] as? String == "ContactChanged")
        #expect(window["text"] as? String == "open")
        #expect(window["value"] is NSNull)
        let windowChannels = ((window["channels"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
        #expect(Set(windowChannels) == ["open", "88 % battery"])
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
    }

    @Test func filtersHoldSteadyReadingsBackAndCountThem() async throws {
        let broker = try Broker()
        let http = try Broker.freePort()
        let subscriber = try Subscriber(port: broker.port)
        defer { withExtendedLifetime((broker, subscriber)) {} }
        let dir = try TemporaryDirectory()
        let config = try dir.write("gateway.yaml", """
            gateway: { id: f-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)" }
            http: { listen: "127.0.0.1:\(http)" }
            devices:
              - { id: steady, adapter: simulated, kind: temperature, interval: 50ms, start: 20, step: 0, offset: 1.25, round: 1, delta: 0.5, heartbeat: 1s }
              - { id: busy, adapter: simulated, kind: temperature, interval: 20ms, seed: 3, throttle: 500ms }
              - { id: fast, adapter: simulated, kind: temperature, interval: 20ms, seed: 4 }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        let started = Date()
        await pause(2)
        // /metrics counts what the filters held back, by device and reason.
        let samples = try await ObservabilityTests.scrape(http) {
            $0.sum("sensorgate_filtered_readings_total", "device=\"steady\"", "reason=\"delta\"") > 0
                && $0.sum("sensorgate_filtered_readings_total", "device=\"busy\"", "reason=\"throttle\"") > 0
        }
        #expect(samples.sum("sensorgate_filtered_readings_total", "device=\"steady\"", "reason=\"delta\"") > 0)
        #expect(samples.sum("sensorgate_filtered_readings_total", "device=\"busy\"", "reason=\"throttle\"") > 0)
        #expect(samples.sum("sensorgate_filtered_readings_total", "device=\"fast\"") == 0)
        await pause(max(0, 3.2 - Date().timeIntervalSince(started)))
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let steady = subscriber.events.filter { $0.topic == "sensorgate/f-gw/TemperatureReading/steady" }
        // 20 + 1.25 rounded to 21.3 (round(212.5) = 213), published at start and then once a second.
        #expect(steady.allSatisfy { ($0.json["data"] as? [String: Any])?["celsius"] as? Double == 21.3 })
        #expect((3...5).contains(steady.count), "\(steady.count) steady events in 3.2 s")
        let busy = subscriber.events.filter { $0.topic == "sensorgate/f-gw/TemperatureReading/busy" }
        #expect((6...9).contains(busy.count), "\(busy.count) throttled events in 3.2 s")
        // Every reading of an unfiltered sensor is an event; its retained state follows at most once a second.
        let fast = subscriber.events.filter { $0.topic == "sensorgate/f-gw/TemperatureReading/fast" }.count
        let fastStates = subscriber.lines.filter { $0.hasPrefix("sensorgate/f-gw/state/fast/temperature ") }.count
        #expect(fast > 60, "\(fast) events")
        #expect((2...6).contains(fastStates), "\(fastStates) state messages for \(fast) events")
        #expect(gateway.output.contains("filters held back"))
        #expect(gateway.output.contains("steady: "))
        #expect(gateway.output.contains("(delta "))
        #expect(gateway.output.contains("busy: "))
        #expect(gateway.output.contains("(throttle "))
    }
}
