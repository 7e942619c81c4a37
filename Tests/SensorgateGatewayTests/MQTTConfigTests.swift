import Foundation
import Testing
import SensorgateCore
@testable import SensorgateGateway

/// Issue 16's `mqtt` keys as the gateway reads them.
@Suite struct MQTTConfigTests {
    static func load(_ mqtt: String) throws -> ConfigLoadResult {
        let dir = try TemporaryDirectory()
        let file = try dir.write("gateway.yaml", """
            gateway: { id: gw }
            mqtt:
            \(mqtt)
            devices:
              - { id: t, adapter: simulated, kind: temperature }
            """)
        return ConfigFile.load(path: file.path, environment: [:])
    }

    @Test func urlsListBrokersPrimaryFirstAndEveryOtherKeyLoads() throws {
        let result = try Self.load("""
              urls: [mqtt://a.local, "mqtts://b.local:8884", "mqtt://[::1]:1884"]
              prefer_primary_after: 10m
              message_expiry: 90s
              cloudevents: binary
              layout: field
              topic_template: "{prefix}/{gateway}/{location}/{subject}"
            """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let mqtt = try #require(result.config?.mqtt)
        #expect(mqtt.brokerList.map(\.description) == ["mqtt://a.local:1883", "mqtts://b.local:8884", "mqtt://[::1]:1884"])
        #expect((mqtt.host, mqtt.port, mqtt.useTLS) == ("a.local", 1883, false))
        #expect(mqtt.preferPrimaryAfter == .seconds(600))
        #expect(mqtt.messageExpiry == .seconds(90))
        #expect(mqtt.cloudEvents == .binary)
        #expect(mqtt.layout == .field)
        #expect(mqtt.topicTemplate.description == "{prefix}/{gateway}/{location}/{subject}")
        let settings = ForwarderSettings(mqtt: mqtt, password: nil, gatewayID: "gw", buffer: BufferSettings())
        #expect(settings.session.map { "\($0.host):\($0.port):\($0.useTLS)" } == ["a.local:1883:false", "b.local:8884:true", "::1:1884:false"])
        #expect(settings.session.allSatisfy { $0.will?.topic == "sensorgate/gw/status" })
    }

    @Test func oneURLIsOneBrokerAndTheDefaultsChangeNothing() throws {
        let mqtt = try #require(try Self.load("  url: mqtt://127.0.0.1:1999").config?.mqtt)
        #expect(mqtt.brokerList == [BrokerURL(host: "127.0.0.1", port: 1999, tls: false)])
        #expect(mqtt.cloudEvents == .structured && mqtt.layout == nil && mqtt.messageExpiry == nil)
        #expect(mqtt.topicTemplate == .standard)
    }

    @Test func urlAndUrlsTogetherOrAnEmptyListAreRefused() throws {
        let both = try Self.load("  url: mqtt://a\n  urls: [mqtt://b]")
        #expect(both.diagnostics.map(\.message) == ["give either 'url' or 'urls' (a list of brokers to fail over between), not both"])
        let empty = try Self.load("  urls: []")
        #expect(empty.diagnostics.first?.message.hasPrefix("'urls' needs at least one broker") == true)
    }
}
