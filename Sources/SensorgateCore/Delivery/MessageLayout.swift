// What goes on the wire for one event: the event message (its PUBACK settles the event, and it
// is what the delivery state machine tracks) and any companions derived from it (`layout:
// field`: each number in `data` as a bare value on `{event topic}/{name}`). Derived at publish
// time from the stored row, so the buffer's format does not depend on the layout, and a backlog
// drains in whatever layout is configured when it is sent. Companions go out with each publish
// of their event (again when the event is sent again); they are not tracked or buffered on
// their own. Pure: the forwarder only publishes what this returns.

public struct OutboundMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    /// MQTT 5 only; ignored on 3.1.1.
    public var contentType: String?
    public var userProperties: [UserProperty]
    /// MQTT 5 message expiry interval, seconds.
    public var messageExpiry: UInt32?
    /// The event's own message (tracked); false for companions.
    public var isEvent: Bool

    public init(topic: String, payload: [UInt8], contentType: String? = nil, userProperties: [UserProperty] = [],
                messageExpiry: UInt32? = nil, isEvent: Bool = true) {
        self.topic = topic
        self.payload = payload
        self.contentType = contentType
        self.userProperties = userProperties
        self.messageExpiry = messageExpiry
        self.isEvent = isEvent
    }

    /// Whether publishing needs MQTT 5 properties.
    public var hasProperties: Bool { contentType != nil || !userProperties.isEmpty || messageExpiry != nil }
}

public struct MessageLayout: Sendable, Equatable {
    public var protocolV5: Bool
    public var cloudEvents: MQTTSettings.CloudEventsMode
    /// `layout: field`.
    public var fields: Bool
    public var messageExpiry: UInt32?

    public init(protocolV5: Bool, cloudEvents: MQTTSettings.CloudEventsMode = .structured, fields: Bool = false,
                messageExpiry: UInt32? = nil) {
        self.protocolV5 = protocolV5
        self.cloudEvents = cloudEvents
        self.fields = fields
        self.messageExpiry = messageExpiry
    }

    public init(_ mqtt: MQTTSettings) {
        self.init(protocolV5: mqtt.protocolVersion == .v5, cloudEvents: mqtt.cloudEvents, fields: mqtt.layout == .field,
                  messageExpiry: mqtt.messageExpiry.map { UInt32(clamping: $0.components.seconds) })
    }

    /// The event's message first, then its companions.
    public func messages(for event: OutboundEvent) -> [OutboundMessage] {
        var primary = OutboundMessage(topic: event.topic, payload: event.payload)
        if protocolV5 {
            primary.messageExpiry = messageExpiry
            if cloudEvents == .binary, let binary = CloudEventsBinding.binary(event.payload) {
                primary.payload = binary.data
                primary.contentType = binary.contentType
                primary.userProperties = binary.attributes
            } else {
                primary.contentType = CloudEventsBinding.structuredContentType
            }
        }
        guard fields else { return [primary] }
        var messages = [primary]
        for field in CloudEventsBinding.numericDataFields(event.payload) {
            let name = TopicTemplate.level(field.name)
            messages.append(OutboundMessage(topic: event.topic + "/" + name, payload: field.value,
                                            messageExpiry: protocolV5 ? messageExpiry : nil, isEvent: false))
        }
        return messages
    }
}
