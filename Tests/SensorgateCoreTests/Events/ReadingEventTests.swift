import Testing
@testable import SensorgateCore

/// The reading events beside temperature and motion: their exact JSON (with the `dataschema` of
/// their type), as SPEC.md names the fields, and back.
@Suite struct ReadingEventTests {
    let id = EventID("0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11")!
    let time = Timestamp(rfc3339: "2026-11-26T18:52:36.123Z")!

    func json(_ data: EventData, subject: String = "bme") -> String {
        Event(id: id, source: "sensorgate/pi", subject: subject, time: time, seq: 7, data: data).cloudEventJSON()
    }

    let head = #"{"specversion":"1.0","id":"0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11","source":"sensorgate/pi","#

    @Test func humidityPressureContactBattery() {
        #expect(json(.humidity(percent: 45.21, location: "living room")) == head
            + #""type":"HumidityReading","subject":"bme","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:HumidityReading:1","seq":7,"data":{"percent":45.21,"location":"living room"}}"#)
        // 100.913585937 kPa × 10: the conversion's binary noise is rounded away.
        #expect(json(.pressure(hpa: 100.913585937 * 10, location: nil)) == head
            + #""type":"PressureReading","subject":"bme","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:PressureReading:1","seq":7,"data":{"hpa":1009.136}}"#)
        #expect(json(.contact(open: true, location: "hall"), subject: "door") == head
            + #""type":"ContactChanged","subject":"door","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:ContactChanged:1","seq":7,"data":{"open":true,"location":"hall"}}"#)
        #expect(json(.contact(open: false, location: nil), subject: "door").hasSuffix(#""data":{"open":false}}"#))
        #expect(json(.battery(percent: 97), subject: "garage").hasSuffix(#""type":"BatteryLevel","subject":"garage","time":"2026-11-26T18:52:36.123Z","datacontenttype":"application/json","dataschema":"urn:sensorgate:schema:BatteryLevel:1","seq":7,"data":{"percent":97}}"#))
    }

    @Test func topicsFollowTheType() {
        let event = Event(id: id, source: "sensorgate/pi", subject: "bme", time: time, seq: 1, data: .humidity(percent: 50, location: nil))
        #expect(event.topic(prefix: "sensorgate", gatewayID: "pi") == "sensorgate/pi/HumidityReading/bme")
    }

    @Test(arguments: [
        EventData.humidity(percent: 81, location: nil),
        .humidity(percent: 45.21, location: "cellar"),
        .pressure(hpa: 1013.25, location: "roof"),
        .contact(open: true, location: nil),
        .contact(open: false, location: "back door"),
        .battery(percent: 3),
    ])
    func roundTrips(_ data: EventData) throws {
        let event = Event(id: id, source: "sensorgate/g", subject: "s", time: time, seq: 7, data: data)
        #expect(try Event(cloudEventJSON: event.cloudEventJSON()) == event)
    }

    @Test func decodingNamesTheMissingField() {
        func decode(_ type: String, _ data: String) -> String? {
            do {
                _ = try Event(cloudEventJSON: #"{"specversion":"1.0","id":"0193a8f2-6c1e-7b3a-9f10-2d4c6a8e0b11","source":"s","type":"\#(type)","subject":"x","time":"2026-11-26T18:52:36.123Z","seq":1,"data":\#(data)}"#)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(decode("HumidityReading", #"{"celsius":4}"#) == "missing data.percent")
        #expect(decode("PressureReading", "{}") == "missing data.hpa")
        #expect(decode("ContactChanged", #"{"open":"yes"}"#) == "missing data.open (true or false)")
        #expect(decode("BatteryLevel", #"{"percent":50}"#) == nil)
    }

    @Test func readingValuesBecomeTheirEvents() {
        #expect(ReadingValue.humidity(percent: 45).eventData(location: "x") == .humidity(percent: 45, location: "x"))
        #expect(ReadingValue.battery(percent: 9).eventData(location: "x") == .battery(percent: 9))  // BatteryLevel is {percent}
        #expect(ReadingValue.contact(open: true).stateText == "ON")
        #expect(ReadingValue.pressure(hpa: 1009.1358).stateText == "1009.136")
        #expect(ReadingValue.temperature(celsius: 20).with(number: 20.5) == .temperature(celsius: 20.5))
        #expect(EventType.readings.map(\.channelName) == ["temperature", "motion", "humidity", "pressure", "contact", "battery"])
    }
}
