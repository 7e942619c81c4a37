import Testing
import SensorgateCore
@testable import SensorgateAdapters

@Suite struct MQTTInputAdapterTests {
    func adapter(event: EventType = .temperatureReading, field: String = "temperature", motionWhen: JSONValue? = nil,
                 queueLimit: Int = MQTTInputAdapter.queueLimit) throws -> MQTTInputAdapter {
        try MQTTInputAdapter(deviceID: "garage", settings: MQTTInputSettings(topic: "zigbee2mqtt/garage", maxPayload: 64),
                             spec: ReadingSpec(event: event, format: .json(field: field.split(separator: ".").map(String.init), motionWhen: motionWhen),
                                               validRange: -40...85), queueLimit: queueLimit)
    }

    func payload(_ text: String) -> MQTTInputAdapter.Message { .payload(topic: "zigbee2mqtt/garage", bytes: Array(text.utf8)) }

    @Test func readingFromAZigbeePayload() throws {
        let output = try adapter().decode(payload(#"{"temperature":21.86,"humidity":56}"#))
        #expect(output == .reading(Reading(deviceID: "garage", value: .temperature(celsius: 21.86))))
    }

    @Test func rejectionsNameTheTopicAndReason() throws {
        let a = try adapter()
        #expect(a.decode(payload("not json")) == .failure(deviceID: "garage", reason: .malformed,
                                                          detail: "zigbee2mqtt/garage: not JSON: invalid literal at byte 0"))
        guard case .failure(_, .outOfRange, let detail)? = a.decode(payload(#"{"temperature":99}"#)) else {
            Issue.record("99 °C should be out of range"); return
        }
        #expect(detail.hasPrefix("zigbee2mqtt/garage: "))
        #expect(a.decode(.oversized(topic: "zigbee2mqtt/garage", size: 100)) == .failure(deviceID: "garage", reason: .oversized,
            detail: "zigbee2mqtt/garage: payload of 100 bytes is over max_payload (64 bytes)"))
        #expect(a.decode(.payload(topic: "zigbee2mqtt/garage", bytes: [0xFF, 0xFE])) ==
            .failure(deviceID: "garage", reason: .malformed, detail: "zigbee2mqtt/garage: payload is not UTF-8 text"))
    }

    @Test func occupancyFalseIsNoEvent() throws {
        let a = try adapter(event: .motionDetected, field: "occupancy", motionWhen: .bool(true))
        #expect(a.decode(payload(#"{"occupancy":true}"#)) == .reading(Reading(deviceID: "garage", value: .motion)))
        #expect(a.decode(payload(#"{"occupancy":false}"#)) == nil)
    }

    @Test func handlerKeepsOversizedPayloadsOutOfMemory() async throws {
        let a = try adapter()
        a.handler("zigbee2mqtt/garage", Array(repeating: 0x20, count: 1000))
        a.handler("zigbee2mqtt/garage", Array(#"{"temperature":20}"#.utf8))
        let log = OutputLog()
        let task = Task { try await a.run(into: log.sink) }
        #expect(await log.waitFor { $0.count >= 2 })
        task.cancel()
        let list = await log.items
        #expect(list.first == .failure(deviceID: "garage", reason: .oversized, detail: "zigbee2mqtt/garage: payload of 1000 bytes is over max_payload (64 bytes)"))
        #expect(list.last == .reading(Reading(deviceID: "garage", value: .temperature(celsius: 20))))
    }

    /// A flood faster than the pipeline takes it: what does not fit is counted, never silent.
    @Test func messagesBeyondTheQueueAreCountedAsOverflow() async throws {
        let a = try adapter(queueLimit: 3)
        for t in 0..<10 { a.handler("zigbee2mqtt/garage", Array(#"{"temperature":\#(t)}"#.utf8)) }
        let log = OutputLog()
        let task = Task { try await a.run(into: log.sink) }
        #expect(await log.waitFor { $0.count >= 4 })
        task.cancel()
        let list = await log.items
        #expect(list.first == .failure(deviceID: "garage", reason: .overflow,
                                       detail: "zigbee2mqtt/garage: 7 message(s) dropped: they came faster than the gateway could take them"))
        let values: [Reading.Value] = list.dropFirst().compactMap { if case .reading(let r) = $0 { return r.value } else { return nil } }
        #expect(values == [.temperature(celsius: 0), .temperature(celsius: 1), .temperature(celsius: 2)])
    }
}
