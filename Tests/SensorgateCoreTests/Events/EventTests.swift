import Testing
@testable import SensorgateCore

@Suite struct TimestampTests {
    @Test func formatsRFC3339WithMilliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_719_156_123).rfc3339 == "2026-11-26T18:52:36.123Z")
        #expect(Timestamp(millisecondsSinceEpoch: 951_782_400_000).rfc3339 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
    }

    @Test func parsesWhatItFormatsAndOffsets() {
        for ms: Int64 in [0, 1, 999, 86_399_999, 951_782_400_000, 1_795_719_156_123, 4_102_444_800_000] {
            let t = Timestamp(millisecondsSinceEpoch: ms)
            #expect(Timestamp(rfc3339: t.rfc3339) == t)
        }
        #expect(Timestamp(rfc3339: "2026-11-26T19:52:36.1+01:00")?.rfc3339 == "2026-11-26T18:52:36.100Z")
        #expect(Timestamp(rfc3339: "2026-11-26T18:52:36Z")?.rfc3339 == "2026-11-26T18:52:36.000Z")
        #expect(Timestamp(rfc3339: "2026-11-26 18:52:36") == nil)
        #expect(Timestamp(rfc3339: "2026-13-01T00:00:00Z") == nil)
    }
}

@Suite struct EventIDTests {
    @Test func isVersion7WithTimestampPrefix() {
        var rng = SystemRandomNumberGenerator()
        let id = EventID(milliseconds: 1_795_719_156_123, using: &rng)
        let text = id.description
        #expect(text.count == 36)
        #expect(id.version == 7)
        #expect(Array(text)[14] == "7")
        #expect("89ab".contains(Array(text)[19]))
        #expect(text.hasPrefix("01a2"))  // 1_795_719_156_123 = 0x01A2_....
        #expect(EventID(text) == id)
    }

    @Test func idsAreUnique() {
        var rng = SystemRandomNumberGenerator()
        let ids = Set((0..<10_000).map { _ in EventID(milliseconds: 1, using: &rng) })
        #expect(ids.count == 10_000)
    }
}

@Suite struct CloudEventTests {
    let id = EventID("0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11")!
    let time = Timestamp(rfc3339: "2026-11-26T18:52:36.123Z")!

    @Test func temperatureReadingMatchesTheSpec() throws {
        let event = Event(id: id, source: "sensorgate/pi-livingroom", subject: "cpu", time: time, seq: 42,
                          data: .temperature(celsius: 48.312_000_4, location: "enclosure"))
        #expect(event.cloudEventJSON() == #"{"specversion":"1.0","id":"0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11","source":"sensorgate/pi-livingroom","type":"TemperatureReading","subject":"cpu","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:TemperatureReading:1","seq":42,"data":{"celsius":48.312,"location":"enclosure"}}"#)
        #expect(event.topic(prefix: "sensorgate", gatewayID: "pi-livingroom") == "sensorgate/pi-livingroom/TemperatureReading/cpu")
    }

    @Test func clockNotSyncedIsFlagged() throws {
        let event = Event(id: id, source: "sensorgate/g", subject: "hall", time: time, seq: 1, data: .motion(location: nil), clockSynced: false)
        let json = try JSONParser.parse(event.cloudEventJSON())
        #expect(json["clocksynced"] == .bool(false))
        #expect(json["data"] == .object([:]))
    }

    @Test(arguments: [
        EventData.temperature(celsius: -3.5, location: nil),
        .motion(location: "hall \"north\""),
        .alertRaised(AlertData(rule: "too-hot", severity: .warning, message: "cpu at 71 °C")),
        .alertResolved(AlertData(rule: "too-hot", severity: .critical, message: "ok")),
        .thermostatCommand(ThermostatCommandData(thermostat: "living", outputOn: true, mode: .heat, target: 21, celsius: 20.25, reason: "below band")),
        .thermostatCommand(ThermostatCommandData(thermostat: "living", outputOn: false, mode: .cool, target: 24, celsius: nil, reason: "sensor stale")),
    ])
    func roundTrips(_ data: EventData) throws {
        let event = Event(id: id, source: "sensorgate/g", subject: "s", time: time, seq: 7, data: data)
        let back = try Event(cloudEventJSON: event.cloudEventJSON())
        #expect(back == event)
    }

    @Test func decodingNamesWhatIsWrong() {
        #expect(throws: Event.DecodingError(message: "unknown type 'Nope'")) {
            try Event(cloudEventJSON: #"{"specversion":"1.0","id":"0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11","source":"s","type":"Nope","subject":"x","time":"2026-11-26T18:52:36.123Z","seq":1,"data":{}}"#)
        }
    }
}
