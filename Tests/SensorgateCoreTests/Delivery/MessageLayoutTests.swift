import Testing
@testable import SensorgateCore

/// What an event becomes on the wire: the CloudEvents MQTT binding (structured or binary) and
/// `layout: field`, derived from the structured row the buffer stores.
@Suite struct MessageLayoutTests {
    static func row(_ data: EventData = .temperature(celsius: 21.875, location: "living \"room\""), synced: Bool = true) -> OutboundEvent {
        var rng = SplitMix64(seed: 9)
        let event = Event(id: EventID(milliseconds: 1_795_719_156_123, using: &rng), source: "sensorgate/pi", subject: "cpu",
                          time: Timestamp(millisecondsSinceEpoch: 1_795_719_156_123), seq: 42, data: data, clockSynced: synced)
        return OutboundEvent(seq: 42, topic: event.topic(prefix: "sensorgate", gatewayID: "pi"), payload: event.cloudEventBytes())
    }

    @Test func mqtt311SendsTheStoredRowAsItIs() {
        let row = Self.row()
        let messages = MessageLayout(protocolV5: false).messages(for: row)
        #expect(messages == [OutboundMessage(topic: row.topic, payload: row.payload)])
        #expect(!messages[0].hasProperties)
    }

    @Test func structuredModeOnMQTT5NamesItsContentType() {
        let row = Self.row()
        let messages = MessageLayout(protocolV5: true, messageExpiry: 300).messages(for: row)
        #expect(messages.count == 1)
        #expect(messages[0].payload == row.payload)
        #expect(messages[0].contentType == "application/cloudevents+json")
        #expect(messages[0].userProperties.isEmpty)
        #expect(messages[0].messageExpiry == 300)
        #expect(messages[0].isEvent)
    }

    @Test func binaryModeCarriesAttributesAsUserPropertiesAndDataAsThePayload() {
        let row = Self.row(synced: false)
        let message = MessageLayout(protocolV5: true, cloudEvents: .binary).messages(for: row)[0]
        #expect(String(decoding: message.payload, as: UTF8.self) == #"{"celsius":21.875,"location":"living \"room\""}"#)
        #expect(message.contentType == "application/json")
        #expect(message.userProperties.map(\.name) == ["specversion", "id", "source", "type", "subject", "time", "dataschema", "seq", "clocksynced"])
        let byName = Dictionary(uniqueKeysWithValues: message.userProperties.map { ($0.name, $0.value) })
        #expect(byName["specversion"] == "1.0")
        #expect(byName["source"] == "sensorgate/pi")
        #expect(byName["type"] == "TemperatureReading")
        #expect(byName["time"] == "2026-11-26T18:52:36.123Z")
        #expect(byName["seq"] == "42")
        #expect(byName["clocksynced"] == "false")
        #expect(byName["id"]?.count == 36)
    }

    @Test func binaryModeOfARowThatIsNotAnObjectFallsBackToStructured() {
        let row = OutboundEvent(seq: 1, topic: "t", payload: Array("not json".utf8))
        let message = MessageLayout(protocolV5: true, cloudEvents: .binary).messages(for: row)[0]
        #expect(message.payload == row.payload)
        #expect(message.contentType == "application/cloudevents+json")
    }

    @Test func fieldLayoutAddsEachNumberAsABareValue() {
        let reading = MessageLayout(protocolV5: false, fields: true).messages(for: Self.row())
        #expect(reading.map(\.topic) == ["sensorgate/pi/TemperatureReading/cpu", "sensorgate/pi/TemperatureReading/cpu/celsius"])
        #expect(String(decoding: reading[1].payload, as: UTF8.self) == "21.875")
        #expect(reading.map(\.isEvent) == [true, false])
        let command = Self.row(.thermostatCommand(ThermostatCommandData(thermostat: "heat", outputOn: true, mode: .heat, target: 21,
                                                                       celsius: -0.5, reason: "r")))
        let fields = MessageLayout(protocolV5: true, fields: true, messageExpiry: 60).messages(for: command).dropFirst()
        #expect(fields.map { String(decoding: $0.payload, as: UTF8.self) } == ["21", "-0.5"])
        #expect(fields.allSatisfy { $0.messageExpiry == 60 && $0.contentType == nil })
        // Motion has no number: no companion.
        #expect(MessageLayout(protocolV5: true, fields: true).messages(for: Self.row(.motion(location: "hall"))).count == 1)
    }

    @Test func topLevelMembersKeepValuesExactlyAsWritten() throws {
        let text = #" { "a" : "x,}\"y" , "b":[1,{"c":2}], "d":{"e":"}"} ,"f": -1.5e3 } "#
        let members = try #require(CloudEventsBinding.topLevelMembers(Array(text.utf8)))
        #expect(members.map(\.key) == ["a", "b", "d", "f"])
        #expect(members.map { String(decoding: $0.value, as: UTF8.self) } == [#""x,}\"y""#, #"[1,{"c":2}]"#, #"{"e":"}"}"#, "-1.5e3"])
        #expect(CloudEventsBinding.text(of: members[0].value) == "x,}\"y")
        for broken in ["", "[1]", "{", #"{"a":}"#, #"{"a":1"#, #"{"a" 1}"#, #"{"a":"x}"#] {
            #expect(CloudEventsBinding.topLevelMembers(Array(broken.utf8)) == nil, "\(broken)")
        }
        #expect(CloudEventsBinding.topLevelMembers(Array("{}".utf8))?.isEmpty == true)
    }
}
