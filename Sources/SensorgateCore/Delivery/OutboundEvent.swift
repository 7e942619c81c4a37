// An event on its way to the broker: its seq, topic and CloudEvents bytes. The unit the
// delivery state machine, the offline buffer and the MQTT forwarder hand to each other; once
// acknowledged, the event history keeps it (with its time, type and subject, so replays can
// find and filter events without parsing them).

public struct OutboundEvent: Sendable, Equatable {
    public var seq: UInt64
    public var topic: String
    public var payload: [UInt8]
    /// The event's `time` in milliseconds since the Unix epoch, its `type` and `subject`.
    public var time: Int64
    public var type: String
    public var subject: String

    public init(seq: UInt64, topic: String, payload: [UInt8], time: Int64 = 0, type: String = "", subject: String = "") {
        self.seq = seq
        self.topic = topic
        self.payload = payload
        self.time = time
        self.type = type
        self.subject = subject
    }

    /// What a buffered or history row counts against `max_bytes`.
    public var size: Int64 { Int64(payload.count + topic.utf8.count) }
}
