// An event on its way to the broker: its seq, topic and CloudEvents bytes. The unit the
// delivery state machine, the offline buffer and the MQTT forwarder hand to each other.

public struct OutboundEvent: Sendable, Equatable {
    public var seq: UInt64
    public var topic: String
    public var payload: [UInt8]

    public init(seq: UInt64, topic: String, payload: [UInt8]) {
        self.seq = seq
        self.topic = topic
        self.payload = payload
    }

    /// What a buffered row counts against `max_bytes`.
    public var size: Int64 { Int64(payload.count + topic.utf8.count) }
}
