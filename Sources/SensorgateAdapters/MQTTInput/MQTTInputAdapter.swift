// The `mqtt` input adapter: payloads from a subscribed topic, decoded with the device's profile
// (json field paths, motion_when). The gateway's MQTT connection delivers the messages through
// `handler`; oversized payloads and anything the profile cannot decode are counted failures that
// name the topic.

import SensorgateCore

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
    private let decoder: ReadingDecoder
    private let maxPayload: Int
    private let messages: AsyncStream<Message>
    private let continuation: AsyncStream<Message>.Continuation

    /// At most this many messages wait for the pipeline; beyond that the oldest are dropped.
    public static let queueLimit = 10_000

    public init(deviceID: String, settings: MQTTInputSettings, spec: ReadingSpec) throws(ReadingDecoder.InvalidPattern) {
        self.deviceID = deviceID
        topic = settings.topic
        broker = settings.broker
        decoder = try ReadingDecoder(spec: spec)
        maxPayload = Int(settings.maxPayload)
        (messages, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(MQTTInputAdapter.queueLimit))
    }

    /// Called on the MQTT connection's thread for each message on `topic`; never blocks.
    public var handler: @Sendable (String, [UInt8]) -> Void {
        let continuation = self.continuation
        let maxPayload = self.maxPayload
        return { topic, payload in
            _ = continuation.yield(payload.count > maxPayload ? .oversized(topic: topic, size: payload.count)
                                                               : .payload(topic: topic, bytes: payload))
        }
    }

    public func run(emit: @escaping @Sendable (AdapterOutput) async -> Void) async throws {
        await withTaskCancellationHandler {
            for await message in messages {
                if let output = decode(message) { await emit(output) }
            }
        } onCancel: {
            continuation.finish()
        }
    }

    /// One message to a reading or a failure naming the topic; nil when it means no event (occupancy false).
    public func decode(_ message: Message) -> AdapterOutput? {
        switch message {
        case .oversized(let topic, let size):
            return .failure(deviceID: deviceID, reason: "oversized",
                            detail: "\(topic): payload of \(size) bytes is over max_payload (\(maxPayload) bytes)")
        case .payload(let topic, let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(deviceID: deviceID, reason: "malformed", detail: "\(topic): payload is not UTF-8 text")
            }
            switch AdapterOutput.from(decoder.decode(text), deviceID: deviceID) {
            case .failure(let id, let reason, let detail)?: return .failure(deviceID: id, reason: reason, detail: "\(topic): \(detail)")
            case let other: return other
            }
        }
    }
}
