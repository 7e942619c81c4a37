import Testing
@testable import SensorgateCore

@Suite struct W1SlaveParserTests {
    let ds18b20 = try! ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .w1Slave, unit: .millicelsius,
                                                         validRange: -55...125))

    @Test func crcYesIsAReading() throws {
        #expect(ds18b20.decode(try Fixture.text("w1_slave-crc-yes-23.125C")) == .reading(celsius: 23.125))
        #expect(ds18b20.decode(try Fixture.text("w1_slave-crc-yes-21.875C")) == .reading(celsius: 21.875))
    }

    @Test func crcNoIsNeverAReading() throws {
        let outcome = ds18b20.decode(try Fixture.text("w1_slave-crc-no-unplugged"))
        guard case .crcFailed = outcome else { Issue.record("expected crcFailed, got \(outcome)"); return }
        #expect(outcome.failureReason == .crcFailed)
    }

    @Test func allZeroScratchpadIsMalformedNotZeroDegrees() throws {
        let outcome = ds18b20.decode(try Fixture.text("w1_slave-all-zero-data-line-low"))
        #expect(outcome.failureReason == .malformed)
    }

    @Test func yesWithAMismatchedCRCIsCaught() {
        // Byte 8 altered after the driver's verdict (a torn read): the CRC no longer matches.
        let text = "72 01 4b 46 7f ff 0e 10 58 : crc=58 YES\n72 01 4b 46 7f ff 0e 10 58 t=23125\n"
        #expect(ds18b20.decode(text).failureReason == .crcFailed)
    }

    @Test(arguments: ["", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n", "garbage\nmore garbage\n",
                      "72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",
                      "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=abc\n"])
    func truncatedOrGarbledIsMalformed(_ text: String) {
        #expect(ds18b20.decode(text).failureReason == .malformed)
    }

    @Test func dallasCRCMatchesTheDriver() {
        #expect(dallasCRC8([0x72, 0x01, 0x4b, 0x46, 0x7f, 0xff, 0x0e, 0x10]) == 0x57)
        #expect(dallasCRC8(ArraySlice(repeating: 0xff, count: 8)) == 0xc9)
    }
}

@Suite struct NumberFormatTests {
    @Test func thermalZoneMillidegrees() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .integer, unit: .millicelsius, validRange: -40...125))
        #expect(decoder.decode(try Fixture.text("thermal_zone0-temp-48.312C")) == .reading(celsius: 48.312))
        #expect(decoder.decode("-5000\n") == .reading(celsius: -5))
        #expect(decoder.decode("130000\n") == .outOfRange(celsius: 130))
        #expect(decoder.decode("48.3\n").failureReason == .malformed)
        #expect(decoder.decode("").failureReason == .malformed)
    }

    @Test func floatFahrenheit() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .float, unit: .fahrenheit))
        #expect(decoder.decode("212\r\n") == .reading(celsius: 100))
        #expect(decoder.decode("nan").failureReason == .malformed)
        #expect(decoder.decode("inf").failureReason == .malformed)
    }

    @Test func motionFromNumbers() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .integer))
        #expect(decoder.decode("1\n") == .motion)
        #expect(decoder.decode("0\n") == .idle)
    }
}

@Suite struct RegexFormatTests {
    let arduino = try! ReadingDecoder(spec: ReadingSpec(
        event: .temperatureReading, format: .regex(pattern: #"T=(?<value>-?[0-9]+(\.[0-9]+)?)"#), validRange: -55...125))

    @Test func capturedArduinoLines() throws {
        let lines = try Fixture.text("serial-arduino-crlf.txt").split(whereSeparator: \.isNewline).map(String.init)
        #expect(lines.count == 4)
        let outcomes = lines.map(arduino.decode)
        #expect(outcomes[0] == .reading(celsius: 21.5))
        #expect(outcomes[1] == .reading(celsius: 21.56))
        #expect(outcomes[2].failureReason == .missingField)
        #expect(outcomes[3] == .reading(celsius: -3.25))
    }

    @Test func patternWithoutValueGroupIsRefused() {
        #expect(throws: ReadingDecoder.InvalidPattern.self) {
            try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .regex(pattern: "T=([0-9.]+)")))
        }
    }

    @Test func invalidPatternIsRefused() {
        #expect(throws: ReadingDecoder.InvalidPattern.self) {
            try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .regex(pattern: "T=(?<value>[0-9.+")))
        }
    }
}

@Suite struct JSONFormatTests {
    @Test func zigbee2mqttTemperature() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .json(field: ["temperature"], motionWhen: nil),
                                                           validRange: -40...85))
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-wsdcgq11lm.json")) == .reading(celsius: 21.86))
        #expect(decoder.decode(#"{"temperature":null}"#).failureReason == .missingField)
        #expect(decoder.decode(#"{"humidity":40}"#).failureReason == .missingField)
        #expect(decoder.decode(#"{"temperature":"21.5"}"#) == .reading(celsius: 21.5))
        #expect(decoder.decode(#"{"temperature":true}"#).failureReason == .malformed)
        #expect(decoder.decode("not json").failureReason == .malformed)
        #expect(decoder.decode(#"{"temperature":120}"#) == .outOfRange(celsius: 120))
    }

    @Test func zigbee2mqttOccupancy() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .json(field: ["occupancy"], motionWhen: .bool(true))))
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-rtcgq11lm-occupied.json")) == .motion)
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-rtcgq11lm-clear.json")) == .idle)
    }

    @Test func motionWhenStringsCompareWithoutCase() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .json(field: ["state"], motionWhen: .string("ON"))))
        #expect(decoder.decode(#"{"state":"on"}"#) == .motion)
        #expect(decoder.decode(#"{"state":"OFF"}"#) == .idle)
    }

    @Test func tasmotaNestedField() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .json(field: ["DS18B20", "Temperature"], motionWhen: nil)))
        #expect(decoder.decode(try Fixture.text("tasmota-ds18b20-sensor.json")) == .reading(celsius: 21.4))
    }

    @Test func arrayIndexInPath() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .temperatureReading, format: .json(field: ["sensors", "1", "t"], motionWhen: nil)))
        #expect(decoder.decode(#"{"sensors":[{"t":1},{"t":2.5}]}"#) == .reading(celsius: 2.5))
        #expect(decoder.decode(#"{"sensors":[{"t":1}]}"#).failureReason == .missingField)
    }
}

@Suite struct EdgeFormatTests {
    @Test(arguments: [
        (EdgeSelection.rising, false, LineEdge.rising, ReadingOutcome.motion),
        (.rising, false, .falling, .idle),
        (.rising, true, .falling, .motion),   // active-low PIR: the line falls on motion
        (.rising, true, .rising, .idle),
        (.falling, false, .falling, .motion),
        (.both, false, .rising, .motion),
        (.both, true, .falling, .motion),
    ])
    func edges(selection: EdgeSelection, activeLow: Bool, physical: LineEdge, expected: ReadingOutcome) throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .edge(selection, activeLow: activeLow)))
        #expect(decoder.decode(edge: physical) == expected)
    }

    @Test func textIsNotAnEdge() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .motionDetected, format: .edge(.rising, activeLow: false)))
        #expect(decoder.decode("1").failureReason == .malformed)
    }
}
