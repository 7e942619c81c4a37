import Testing
@testable import SensorgateCore

/// The AsyncAPI description of a config: its channels, and every reference resolving. (The
/// process tests validate the output against the official AsyncAPI 3.0 schema.)
@Suite struct AsyncAPIDocumentTests {
    static func load(_ yaml: String) throws -> GatewayConfig {
        let files = MemoryFiles(files: ["/c/gw.yaml": yaml])
        let result = ConfigLoader(files: files, environment: [:], adapters: [stubSensor]).load(path: "/c/gw.yaml")
        return try #require(result.config, "\(result.diagnostics)")
    }

    static let config = """
        gateway: { id: pi }
        mqtt: { url: "mqtts://broker.lan:8883", topic_prefix: home }
        history: { keep: 1d }
        devices:
          - { id: cpu, adapter: stub, kind: temperature }
          - { id: hall, adapter: stub, kind: motion }
        rules:
          - name: hot
            when: { temperature: { device: cpu, above: 70 } }
            then:
              - alert: { message: "{device} hot" }
              - publish: { topic: home/fan/set, payload: "ON" }
        thermostats:
          - name: living
            device: cpu
            target: 21
            actuator: { mqtt: { topic: relay/set, payload_on: "1", payload_off: "0" } }
        """

    @Test func channelsFollowTheConfig() throws {
        let doc = AsyncAPIDocument.make(try Self.load(Self.config))
        #expect(doc["asyncapi"] == .string("3.0.0"))
        guard case .object(let channels)? = doc["channels"] else { Issue.record("no channels"); return }
        let addresses = Dictionary(uniqueKeysWithValues: channels.map { ($0.0, $0.1["address"]) })
        #expect(addresses["TemperatureReading-cpu"] == .string("home/pi/TemperatureReading/cpu"))
        #expect(addresses["MotionDetected-hall"] == .string("home/pi/MotionDetected/hall"))
        #expect(addresses["AlertRaised-hot"] == .string("home/pi/AlertRaised/hot"))
        #expect(addresses["ThermostatCommand-living"] == .string("home/pi/ThermostatCommand/living"))
        #expect(addresses["status"] == .string("home/pi/status"))
        #expect(addresses["replayRequest"] == .string("home/pi/replay/request"))
        #expect(addresses["replayDone"] == .string("home/pi/replay/{id}/done"))
        #expect(addresses["actuator-living"] == .string("relay/set"))
        #expect(addresses["publish-hot-2"] == .string("home/fan/set"))
        #expect(doc["servers"]?["broker"]?["protocol"] == .string("secure-mqtt"))
        #expect(doc["components"]?["schemas"]?["TemperatureReading"]?["schema"] == EventSchema.current(for: .temperatureReading).document)
    }

    /// A device with several channels has an event channel per reading type; the retained state
    /// topics and Home Assistant's discovery, birth message and climate commands are described.
    @Test func everyChannelStateTopicAndHomeAssistant() throws {
        let doc = AsyncAPIDocument.make(try readingConfig(DiscoveryShapeTests.config))
        guard case .object(let channels)? = doc["channels"] else { Issue.record("no channels"); return }
        let addresses = Dictionary(uniqueKeysWithValues: channels.map { ($0.0, $0.1["address"]) })
        for type in ["TemperatureReading", "HumidityReading", "PressureReading"] {
            #expect(addresses["\(type)-bme"] == .string("sensorgate/test/\(type)/bme"))
            #expect(doc["components"]?["schemas"]?[type] != nil)
        }
        #expect(addresses["ContactChanged-door"] == .string("sensorgate/test/ContactChanged/door"))
        #expect(addresses["BatteryLevel-garage"] == .string("sensorgate/test/BatteryLevel/garage"))
        #expect(addresses["state-bme-humidity"] == .string("sensorgate/test/state/bme/humidity"))
        #expect(addresses["state-door-contact"] == .string("sensorgate/test/state/door/contact"))
        #expect(addresses["state-living-mode"] == .string("sensorgate/test/state/living/mode"))
        #expect(addresses["state-door-open-alert"] == .string("sensorgate/test/state/door-open/alert"))
        #expect(doc["operations"]?["send-state-bme-humidity"]?["bindings"]?["mqtt"]?["retain"] == .bool(true))
        #expect(doc["operations"]?["send-state-hall-motion"]?["bindings"]?["mqtt"]?["retain"] == .bool(false))
        #expect(addresses["homeAssistantConfig"] == .string("homeassistant/{component}/sensorgate_test/{object}/config"))
        #expect(addresses["homeAssistantStatus"] == .string("homeassistant/status"))
        #expect(addresses["thermostatCommand"] == .string("sensorgate/test/command/{thermostat}/{setting}"))
        #expect(doc["operations"]?["receiveThermostatCommand"]?["action"] == .string("receive"))
        // Every discovery topic this config publishes fits the channel's parameters.
        let objects = doc["channels"]?["homeAssistantConfig"]?["parameters"]?["object"]?["enum"]
        for message in HomeAssistantDiscovery.messages(for: try readingConfig(DiscoveryShapeTests.config)) {
            let object = message.topic.split(separator: "/").dropLast().last.map(String.init) ?? ""
            guard case .array(let values)? = objects else { Issue.record("no object enum"); return }
            #expect(values.contains(.string(object)), "\(message.topic)")
        }
    }

    @Test func noStateOrHomeAssistantChannelsWhenTurnedOff() throws {
        let plain = AsyncAPIDocument.make(try Self.load(Self.config))
        #expect(plain["channels"]?["homeAssistantConfig"] == nil)
        #expect(plain["channels"]?["state-cpu-temperature"] != nil)
        let off = AsyncAPIDocument.make(try Self.load(Self.config.withoutStateTopics()))
        #expect(off["channels"]?["state-cpu-temperature"] == nil)
    }

    @Test func noReplayChannelsWithoutAHistory() throws {
        let doc = AsyncAPIDocument.make(try Self.load(Self.config.replacingHistory()))
        #expect(doc["channels"]?["replayRequest"] == nil)
        #expect(doc["operations"]?["receiveReplayRequest"] == nil)
    }

    @Test func everyReferenceResolves() throws {
        let doc = AsyncAPIDocument.make(try Self.load(Self.config))
        var refs: [String] = []
        func walk(_ node: JSONDocument) {
            switch node {
            case .object(let members):
                for (key, value) in members {
                    if key == "$ref", case .string(let r) = value { refs.append(r) } else { walk(value) }
                }
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(doc)
        #expect(refs.count > 20)
        for ref in refs where ref.hasPrefix("#/") && !ref.hasPrefix("#/$defs") {
            var node: JSONDocument? = doc
            for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
            #expect(node != nil, "\(ref) does not resolve")
        }
    }
}

private extension String {
    func withoutStateTopics() -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("mqtt:") ? "mqtt: { url: \"mqtts://broker.lan:8883\", topic_prefix: home, state_topics: false }" : String($0) }
            .joined(separator: "\n")
    }

    func replacingHistory() -> String {
        split(separator: "\n").filter { !$0.hasPrefix("history:") }.joined(separator: "\n")
    }
}
