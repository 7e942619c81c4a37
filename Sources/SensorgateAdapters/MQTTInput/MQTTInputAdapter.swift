// The `mqtt` input adapter: payloads from a subscribed topic, decoded with the device's profile
// (json field paths, motion_when, open_when), each channel's field a reading of its own. The gateway's MQTT session thread hands each message to
// `handler`, which never waits: messages queue in the adapter's own bounded channel, and what
// does not fit is counted as `overflow` (reported with the next message) instead of vanishing.
// Oversized payloads and anything the profile cannot decode are counted failures that name the
// topic.

import SensorgateCore
import SensorgateRuntime
import Synchronization

public struct MQTTInputAdapter: DeviceAdapter {
    public enum Message: Sendable {
        case payload(topic: String, bytes: [UInt8])
        /// Over `max_payload`: only the size is kept.
        case oversized(topic: String, size: Int)
    }

    public let deviceID: String
    public let topic: String
    /// Another broker to subscribe on, nil for the gateway's own.
    public let broker: BrokerURL?
    private let decoder: DeviceDecoder
    private let maxPayload: Int
    private let messages: BoundedChannel<Message>
    private let overflow: Overflow

    /// Messages waiting for the pipeline; beyond, new ones are dropped and counted.
    public static let queueLimit = 10_000

    final class Overflow: Sendable {
        let count = Atomic<Int>(0)
    }

    public init(deviceID: String, settings: MQTTInputSettings, spec: ReadingSpec, queueLimit: Int = MQTTInputAdapter.queueLimit) throws(ReadingDecoder.InvalidPattern) {
        try self.init(deviceID: deviceID, settings: settings, channels: [ChannelConfig(spec: spec)], queueLimit: queueLimit)
    }

    /// A device with several channels: each field the payload carries is a reading.
    public init(deviceID: String, settings: MQTTInputSettings, channels: [ChannelConfig],
                queueLimit: Int = MQTTInputAdapter.queueLimit) throws(ReadingDecoder.InvalidPattern) {
        self.deviceID = deviceID
        topic = settings.topic
        broker = settings.broker
        decoder = try DeviceDecoder(channels: channels)
        maxPayload = Int(settings.maxPayload)
        messages = BoundedChannel(capacity: queueLimit)
        overflow = Overflow()
    }

    /// Called on the MQTT session's thread for each message on `topic`; never waits.
    public var handler: @Sendable (String, [UInt8]) -> Void {
        let messages = self.messages
        let maxPayload = self.maxPayload
        let overflow = self.overflow
        return { topic, payload in
            let message: Message = payload.count > maxPayload ? .oversized(topic: topic, size: payload.count)
                                                               : .payload(topic: topic, bytes: payload)
            if !messages.trySend(message) { overflow.count.add(1, ordering: .relaxed) }
        }
    }

    public func run(into sink: ReadingSink) async throws {
        while let message = await messages.next() {
            let dropped = overflow.count.exchange(0, ordering: .relaxed)
            if dropped > 0 {
                await sink.send(.failure(deviceID: deviceID, reason: .overflow,
                                         detail: "\(topic): \(dropped) message(s) dropped: they came faster than the gateway could take them"))
            }
            for output in decodeAll(message) { await sink.send(output) }
        }
        try Task.checkCancellation()
    }

    /// One message to a reading or a failure naming the topic; nil when it means no event (occupancy false).
    /// The first of `decodeAll` (a single-channel device has at most one).
    public func decode(_ message: Message) -> AdapterOutput? { decodeAll(message).first }

    /// One message to a reading per channel it carries, or failures naming the topic.
    public func decodeAll(_ message: Message) -> [AdapterOutput] {
        switch message {
        case .oversized(let topic, let size):
            return [.failure(deviceID: deviceID, reason: .oversized,
                             detail: "\(topic): payload of \(size) bytes is over max_payload (\(maxPayload) bytes)")]
        case .payload(let topic, let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return [.failure(deviceID: deviceID, reason: .malformed, detail: "\(topic): payload is not UTF-8 text")]
            }
            return AdapterOutput.from(decoder.decode(text), deviceID: deviceID).map { output in
                if case .failure(let id, let reason, let detail) = output { return .failure(deviceID: id, reason: reason, detail: "\(topic): \(detail)") }
                return output
            }
        }
    }
}
