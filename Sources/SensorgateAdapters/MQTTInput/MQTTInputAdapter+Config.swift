// The `mqtt` input adapter's part of the config: its keys and settings, the reading formats it
// decodes, and how the gateway builds it for a device. Registered in AdapterRegistry.

import SensorgateCore

public struct MQTTInputSettings: AdapterSettings {
    public var topic: String
    public var maxPayload: Int64
    /// Another broker to subscribe on; nil means the gateway's own (`mqtt.url`).
    public var broker: BrokerURL?

    public init(topic: String, maxPayload: Int64, broker: BrokerURL? = nil) {
        self.topic = topic
        self.maxPayload = maxPayload
        self.broker = broker
    }

    /// Another broker is reached with the `mqtt` section's client id and credentials, so every
    /// MQTT input needs that section.
    public var requiresBroker: Bool { true }

    public var subscription: (filter: String, broker: BrokerURL?)? { (topic, broker) }
}

extension MQTTInputAdapter: RegisteredAdapter {
    public static let definition = AdapterDefinition(
        name: "mqtt", keys: ["topic", "max_payload", "broker"],
        readings: .decoded(formats: ["integer", "float", "regex", "json"])
    ) { s in
        let topic = s.string("topic", required: "the MQTT topic to subscribe to")
        let maxPayload = s.size("max_payload") ?? 64 * 1024
        var broker: BrokerURL? = nil
        if let text = s.string("broker") {
            broker = BrokerURL(text)
            if broker == nil {
                s.error("'broker' must look like mqtt://host:1883 or mqtts://host:8883, got \(s.shown("broker"))", at: "broker")
            }
        }
        return topic.map { MQTTInputSettings(topic: $0, maxPayload: maxPayload, broker: broker) }
    }

    public static func make(_ device: DeviceConfig, settings: MQTTInputSettings) throws -> MQTTInputAdapter {
        _ = try device.decodedReadings()
        return try MQTTInputAdapter(deviceID: device.id, settings: settings, channels: device.channels)
    }
}
