import Foundation
import Testing

/// The CloudEvents MQTT binding on a real MQTT 5 broker, read by a consumer that prints each
/// message's properties (mosquitto_sub -F '%C' content type, '%E' expiry, '%P' user properties),
/// and the topic layouts (`topic_template`, `layout: field`).
@Suite(.serialized) struct CloudEventsBindingTests {
    struct Message {
        var topic: String
        var contentType: String
        var expiry: Int?
        var properties: [String: String]
        var payload: String
    }

    /// An MQTT 5 consumer that writes one tab-separated line per message.
    final class PropertyConsumer {
        let dir: TemporaryDirectory
        let pid: pid_t
        init(port: Int) throws {
            dir = try TemporaryDirectory()
            pid = try spawnWithDefaultSignals("/usr/bin/mosquitto_sub",
                                              ["-p", String(port), "-V", "mqttv5", "-t", "sensorgate/#", "-q", "1", "-F", "%t\t%C\t%E\t%P\t%p"],
                                              output: dir.url.appendingPathComponent("out.txt").path)
            Thread.sleep(forTimeInterval: 0.3)
        }
        deinit {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        var messages: [Message] {
            guard let text = try? String(contentsOfFile: dir.url.appendingPathComponent("out.txt").path, encoding: .utf8),
                  let end = text.lastIndex(of: "\n") else { return [] }
            return text[..<end].split(separator: "\n").compactMap { line in
                let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 5 else { return nil }
                var properties: [String: String] = [:]
                for pair in f[3].split(separator: " ") {
                    guard let colon = pair.firstIndex(of: ":") else { continue }
                    properties[String(pair[..<colon])] = String(pair[pair.index(after: colon)...])
                }
                return Message(topic: f[0], contentType: f[1], expiry: Int(f[2]), properties: properties,
                               payload: f[4...].joined(separator: "\t"))
            }
        }
        func waitFor(timeout: TimeInterval = 20, _ predicate: ([Message]) -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if predicate(messages) { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return predicate(messages)
        }
    }

    static func config(_ dir: TemporaryDirectory, port: Int, mode: String) throws -> URL {
        try dir.write("gateway.yaml", """
            gateway: { id: ce-gw, state_dir: ./state }
            mqtt:
              url: "mqtt://127.0.0.1:\(port)"
              protocol: 5
              cloudevents: \(mode)
              message_expiry: 1h
              layout: field
              topic_template: "{prefix}/{gateway}/{location}/{subject}"
            devices:
              - { id: t1, adapter: simulated, kind: temperature, interval: 20ms, location: living room }
            """)
    }

    @Test func structuredModeHasItsContentTypeExpiryAndFieldTopics() async throws {
        let broker = try Broker()
        let consumer = try PropertyConsumer(port: broker.port)
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, consumer, dir)) {} }
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, port: broker.port, mode: "structured").path])
        #expect(await consumer.waitFor { $0.filter { $0.topic.hasSuffix("/celsius") }.count >= 10 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let events = consumer.messages.filter { $0.topic == "sensorgate/ce-gw/living room/t1" }
        let fields = consumer.messages.filter { $0.topic == "sensorgate/ce-gw/living room/t1/celsius" }
        let first = try #require(events.first)
        #expect(first.contentType == "application/cloudevents+json")
        #expect((3590...3600).contains(first.expiry ?? 0))
        #expect(first.properties.isEmpty)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(first.payload.utf8)) as? [String: Any])
        #expect(json["specversion"] as? String == "1.0")
        #expect(json["seq"] as? Int == 1)
        // Each reading's celsius also alone, as a bare number.
        #expect(fields.count >= 10)
        #expect(fields.allSatisfy { Double($0.payload) != nil && $0.contentType.isEmpty })
        let celsius = (json["data"] as? [String: Any])?["celsius"] as? Double
        #expect(fields.first.flatMap { Double($0.payload) } == celsius)
    }

    /// Binary mode: the attributes as user properties, `data` alone as the payload; and a backlog
    /// stored while the gateway ran in structured mode drains in binary mode, rows unchanged.
    @Test func binaryModeCarriesAttributesAsUserPropertiesAlsoForABacklog() async throws {
        let broker = try Broker()
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, dir)) {} }
        broker.stop()
        let offline = try GatewayProcess(["run", "--config", try Self.config(dir, port: broker.port, mode: "structured").path,
                                          "--log-level", "debug"])
        #expect(await offline.waitFor { _ in offline.seqs.count >= 20 })
        offline.signal(SIGTERM)
        #expect(await offline.waitForExit() == 0)
        let backlog = UInt64(offline.seqs.count)
        try broker.start()
        let consumer = try PropertyConsumer(port: broker.port)
        defer { withExtendedLifetime(consumer) {} }
        let gateway = try GatewayProcess(["run", "--config", try Self.config(dir, port: broker.port, mode: "binary").path])
        #expect(await consumer.waitFor { $0.compactMap { UInt64($0.properties["seq"] ?? "") }.max() ?? 0 >= backlog + 20 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        let events = consumer.messages.filter { $0.topic == "sensorgate/ce-gw/living room/t1" }
        let seqs = events.compactMap { UInt64($0.properties["seq"] ?? "") }
        #expect(MQTTForwardingTests.firstArrivals(seqs).prefix(Int(backlog) + 20) == ArraySlice(1...(backlog + 20)))
        for message in events {
            #expect(message.contentType == "application/json")
            #expect(message.properties["specversion"] == "1.0")
            #expect(message.properties["type"] == "TemperatureReading")
            #expect(message.properties["source"] == "sensorgate/ce-gw")
            #expect(message.properties["subject"] == "t1")
            #expect(message.properties["id"]?.count == 36)
            #expect(message.properties["time"]?.hasSuffix("Z") == true)
            #expect(message.properties["datacontenttype"] == nil)
            let data = try #require(try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any])
            #expect(data["location"] as? String == "living room")
            #expect(data["celsius"] is Double)
            #expect(data["seq"] == nil)
        }
    }

    /// MQTT 3.1.1 has no properties: the stored row goes out as it is, the layouts still apply.
    @Test func mqtt311KeepsStructuredJSONAndTheLayouts() async throws {
        let broker = try Broker()
        let subscriber = try Subscriber(port: broker.port, filter: "#")
        let dir = try TemporaryDirectory()
        defer { withExtendedLifetime((broker, subscriber, dir)) {} }
        let config = try dir.write("gateway.yaml", """
            gateway: { id: old-gw, state_dir: ./state }
            mqtt: { url: "mqtt://127.0.0.1:\(broker.port)", protocol: 3.1.1, layout: field, topic_template: "site/{gateway}/{type}/{subject}" }
            devices:
              - { id: t1, adapter: simulated, kind: temperature, interval: 20ms }
            """)
        let gateway = try GatewayProcess(["run", "--config", config.path])
        #expect(await subscriber.waitFor { $0.events.count >= 10 })
        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0)
        #expect(subscriber.lines.contains("sensorgate/old-gw/status online"))  // the status keeps its topic
        #expect(subscriber.events.allSatisfy { $0.topic == "site/old-gw/TemperatureReading/t1" })
        let fields = subscriber.lines.filter { $0.hasPrefix("site/old-gw/TemperatureReading/t1/celsius ") }
        #expect(fields.count >= 10)
        #expect(fields.allSatisfy { Double($0.split(separator: " ").last ?? "") != nil })
    }
}
