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
    func replacingHistory() -> String {
        split(separator: "\n").filter { !$0.hasPrefix("history:") }.joined(separator: "\n")
    }
}
