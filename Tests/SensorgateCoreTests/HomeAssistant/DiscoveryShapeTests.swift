import Foundation
import Testing
@testable import SensorgateCore

/// The discovery payloads against the shapes Home Assistant documents for its MQTT sensor,
/// binary_sensor and climate platforms (home-assistant.io/integrations/sensor.mqtt,
/// binary_sensor.mqtt, climate.mqtt, and MQTT discovery), without a Home Assistant; `make test-ha`
/// checks the same payloads against a real one.
@Suite struct DiscoveryShapeTests {
    static let config = """
        devices:
          - id: bme
            adapter: probe
            location: living room
            channels:
              - { event: TemperatureReading, format: float }
              - { event: HumidityReading, format: float }
              - { event: PressureReading, format: float }
          - { id: door, adapter: probe, event: ContactChanged, format: edge }
          - { id: hall, adapter: probe, event: MotionDetected, format: edge }
          - id: garage
            adapter: probe
            channels:
              - { event: TemperatureReading, format: json, field: temperature }
              - { event: BatteryLevel, format: json, field: battery }
        rules:
          - name: door-open
            when: { contact: { device: door, open: true, for: 5m } }
            then: [ { alert: { message: "door open" } } ]
          - name: quiet
            when: { no_motion: { device: hall, for: 1h } }
            then: [ { thermostat: { name: living, target: 17 } } ]
        thermostats:
          - { name: living, device: bme, target: 21, max_run: 4h, actuator: { mqtt: { topic: relay/set } } }
        homeassistant: { motion_off_delay: 45s }

        """

    // What HA documents, for the options these payloads use.
    static let common: Set<String> = ["name", "unique_id", "device", "origin", "availability_topic", "payload_available",
                                      "payload_not_available", "entity_category", "device_class", "qos"]
    static let platformKeys: [String: Set<String>] = [
        "sensor": common.union(["state_topic", "state_class", "unit_of_measurement", "suggested_display_precision", "value_template"]),
        "binary_sensor": common.union(["state_topic", "payload_on", "payload_off", "off_delay", "value_template"]),
        "climate": common.union(["modes", "mode_state_topic", "mode_command_topic", "temperature_state_topic", "temperature_command_topic",
                                 "current_temperature_topic", "action_topic", "min_temp", "max_temp", "temp_step", "precision",
                                 "temperature_unit"]),
    ]
    static let required: [String: Set<String>] = [
        "sensor": ["state_topic", "unique_id", "device"],
        "binary_sensor": ["state_topic", "unique_id", "device"],
        "climate": ["unique_id", "device", "mode_command_topic", "temperature_command_topic"],
    ]
    /// Sensor device classes with the units HA accepts for them.
    static let sensorUnits: [String: Set<String>] = [
        "temperature": ["°C", "°F", "K"], "humidity": ["%"], "battery": ["%"],
        "atmospheric_pressure": ["cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"],
    ]
    static let binaryClasses: Set<String> = ["battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
                                             "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
                                             "occupancy", "opening", "plug", "power", "presence", "problem", "running",
                                             "safety", "smoke", "sound", "tamper", "update", "vibration", "window"]
    static let hvacModes: Set<String> = ["auto", "off", "cool", "heat", "dry", "fan_only"]
    static let deviceKeys: Set<String> = ["identifiers", "connections", "name", "manufacturer", "model", "sw_version",
                                          "hw_version", "via_device", "suggested_area", "configuration_url"]

    static func messages() throws -> (GatewayConfig, [(topic: String, component: String, object: String, payload: [String: JSONValue])]) {
        let config = try readingConfig(Self.config)
        let parsed = try HomeAssistantDiscovery.messages(for: config).map { m -> (String, String, String, [String: JSONValue]) in
            let parts = m.topic.split(separator: "/").map(String.init)
            guard case .object(let payload) = try JSONParser.parse(m.payload) else { throw HarnessError.badConfig }
            return (m.topic, parts.count == 5 ? parts[1] : "?", parts.count == 5 ? parts[3] : "?", payload)
        }
        return (config, parsed.map { (topic: $0.0, component: $0.1, object: $0.2, payload: $0.3) })
    }

    @Test func everyPayloadHasTheDocumentedShape() throws {
        let (config, messages) = try Self.messages()
        let topics = GatewayTopics(config)
        // Everything an entity reads is something the gateway publishes.
        let published = Set(HomeAssistantDiscovery.stateTopics(for: config) + [topics.status, topics.reading("hall", .motionDetected)])
        let identifier = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { isIdentifierByte($0) } }
        var uniqueIDs: [String: Set<String>] = [:]
        for m in messages {
            let where_ = m.topic
            // <discovery_prefix>/<component>/<node_id>/<object_id>/config
            let parts = m.topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            #expect(parts.count == 5 && parts[0] == "homeassistant" && parts[4] == "config", "\(where_)")
            #expect(identifier(parts[2]) && identifier(parts[3]), "node_id and object_id are [a-zA-Z0-9_-]: \(where_)")
            guard let allowed = Self.platformKeys[m.component], let needed = Self.required[m.component] else {
                Issue.record("unexpected component \(m.component)")
                continue
            }
            #expect(Set(m.payload.keys).subtracting(allowed).isEmpty, "undocumented keys \(Set(m.payload.keys).subtracting(allowed)) in \(where_)")
            #expect(needed.isSubset(of: Set(m.payload.keys)), "missing \(needed.subtracting(m.payload.keys)) in \(where_)")
            let unique = m.payload["unique_id"]?.stringValue ?? ""
            #expect(uniqueIDs[m.component, default: []].insert(unique).inserted, "unique_id \(unique) twice")
            #expect(unique.hasPrefix("sensorgate_test_"))
            #expect(m.payload["origin"]?["name"]?.stringValue == "sensorgate")
            guard case .object(let device)? = m.payload["device"] else { Issue.record("no device in \(where_)"); continue }
            #expect(Set(device.keys).subtracting(Self.deviceKeys).isEmpty)
            #expect(device["identifiers"].map { if case .array(let ids) = $0 { return !ids.isEmpty && ids.allSatisfy { $0.stringValue != nil } } else { return false } } == true)
            for (key, value) in m.payload where key.hasSuffix("_topic") {
                guard let topic = value.stringValue else { Issue.record("\(key) is not a string"); continue }
                #expect(!topic.contains("+") && !topic.contains("#") && !topic.isEmpty)
                if !key.hasSuffix("command_topic") { #expect(published.contains(topic), "\(key) \(topic) is not published") }
            }
            if m.object != "status" {
                #expect(m.payload["availability_topic"]?.stringValue == topics.status)
                #expect(m.payload["payload_available"]?.stringValue == "online")
                #expect(m.payload["payload_not_available"]?.stringValue == "offline")
            }
            if let category = m.payload["entity_category"]?.stringValue { #expect(["config", "diagnostic"].contains(category)) }
            switch m.component {
            case "sensor":
                let cls = m.payload["device_class"]?.stringValue ?? ""
                #expect(Self.sensorUnits[cls]?.contains(m.payload["unit_of_measurement"]?.stringValue ?? "") == true, "\(cls) unit in \(where_)")
                #expect(m.payload["state_class"]?.stringValue == "measurement")
            case "binary_sensor":
                #expect(Self.binaryClasses.contains(m.payload["device_class"]?.stringValue ?? ""), "\(where_)")
                if let delay = m.payload["off_delay"]?.doubleValue { #expect(delay > 0 && delay == delay.rounded()) }
            default:  // climate
                guard case .array(let modes)? = m.payload["modes"] else { Issue.record("modes"); continue }
                #expect(Set(modes.compactMap(\.stringValue)).isSubset(of: Self.hvacModes))
                #expect([0.1, 0.5, 1.0].contains(m.payload["precision"]?.doubleValue ?? 0))
                #expect(["C", "F"].contains(m.payload["temperature_unit"]?.stringValue ?? ""))
                #expect((m.payload["min_temp"]?.doubleValue ?? 0) < (m.payload["max_temp"]?.doubleValue ?? 0))
            }
        }
    }

    @Test func theEntitiesAUserSees() throws {
        let (_, messages) = try Self.messages()
        let summary = messages.map { m -> String in
            let cls = m.payload["device_class"]?.stringValue.map { " \($0)" } ?? ""
            let unit = m.payload["unit_of_measurement"]?.stringValue.map { " \($0)" } ?? ""
            let device = m.payload["device"]?["name"]?.stringValue ?? ""
            return "\(m.component) \(device)/\(m.payload["name"]?.stringValue ?? "")\(cls)\(unit)"
        }
        #expect(summary == [
            "binary_sensor sensorgate test/Status connectivity",
            "sensor bme/Temperature temperature °C",
            "sensor bme/Humidity humidity %",
            "sensor bme/Pressure atmospheric_pressure hPa",
            "binary_sensor door/Contact opening",
            "binary_sensor hall/Motion motion",
            "sensor garage/Temperature temperature °C",
            "sensor garage/Battery battery %",
            "climate sensorgate test/living",
            "binary_sensor sensorgate test/Alert door-open problem",
            "binary_sensor sensorgate test/living sensor silent problem",
            "binary_sensor sensorgate test/living max run problem",
        ])
        let motion = try #require(messages.first { $0.object == "hall_motion" })
        #expect(motion.payload["off_delay"] == .number(45))
        let bme = try #require(messages.first { $0.object == "bme_temperature" })
        #expect(bme.payload["device"]?["via_device"]?.stringValue == "sensorgate_test")
        #expect(bme.payload["device"]?["suggested_area"]?.stringValue == "living room")
        #expect(bme.payload["state_topic"]?.stringValue == "sensorgate/test/state/bme/temperature")
        let climate = try #require(messages.first { $0.component == "climate" })
        #expect(climate.payload["current_temperature_topic"]?.stringValue == "sensorgate/test/state/bme/temperature")
        #expect(climate.payload["temperature_command_topic"]?.stringValue == "sensorgate/test/command/living/target")
        #expect(climate.payload["mode_command_topic"]?.stringValue == "sensorgate/test/command/living/mode")
    }

    /// The payloads byte for byte: a change to what HA receives is a deliberate one.
    @Test func payloadsMatchTheGoldenFile() throws {
        let config = try readingConfig(Self.config)
        let text = HomeAssistantDiscovery.messages(for: config).map { "\($0.topic) \($0.payload)" }.joined(separator: "\n") + "\n"
        // SENSORGATE_UPDATE_GOLDEN=1 swift test --filter payloadsMatchTheGoldenFile rewrites it; review the diff.
        if ProcessInfo.processInfo.environment["SENSORGATE_UPDATE_GOLDEN"] == "1" {
            try text.write(to: Fixture.directory.appendingPathComponent("homeassistant-discovery.expected"), atomically: true, encoding: .utf8)
        }
        #expect(text == (try Fixture.text("homeassistant-discovery.expected")))
    }

    @Test func commandTopicsParseBack() {
        let topics = GatewayTopics(prefix: "sensorgate", gatewayID: "pi")
        #expect(topics.parseCommand(topics.command("living-room", .target))! == ("living-room", .target))
        #expect(topics.parseCommand("sensorgate/pi/command/living-room/mode")! == ("living-room", .mode))
        #expect(topics.parseCommand("sensorgate/pi/command/living-room/fan") == nil)
        #expect(topics.parseCommand("sensorgate/other/command/x/target") == nil)
        #expect(topics.parseCommand("sensorgate/pi/command//target") == nil)
        #expect(thermostatAction(outputOn: true, mode: .heat) == "heating")
        #expect(thermostatAction(outputOn: false, mode: .cool) == "idle")
        #expect(thermostatAction(outputOn: false, mode: .off) == "off")
    }

    @Test func noSectionNoDiscovery() throws {
        var config = try readingConfig(Self.config)
        config.homeAssistant = nil
        #expect(HomeAssistantDiscovery.messages(for: config).isEmpty)
    }
}
