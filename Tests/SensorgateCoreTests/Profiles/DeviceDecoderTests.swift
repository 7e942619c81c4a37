import Testing
@testable import SensorgateCore

/// Devices with several channels, and the units of the new readings.
@Suite struct DeviceDecoderTests {
    static func json(_ event: EventType, _ field: String, unit: ReadingUnit? = nil, range: ClosedRange<Double>? = nil,
                     match: JSONValue? = nil) -> ChannelConfig {
        ChannelConfig(spec: ReadingSpec(event: event, format: .json(field: field.split(separator: ".").map(String.init), motionWhen: match),
                                        unit: unit ?? event.eventUnit ?? .celsius, validRange: range))
    }

    /// zigbee2mqtt-temperature's channels.
    let z2m = try! DeviceDecoder(channels: [
        json(.temperatureReading, "temperature", range: -40...85),
        json(.humidityReading, "humidity", range: 0...100),
        json(.batteryLevel, "battery", range: 0...100),
    ])

    @Test func aZigbee2mqttPayloadYieldsEachFieldItCarries() throws {
        let outcomes = z2m.decode(try Fixture.text("zigbee2mqtt-garage-temperature-humidity-battery.json"))
        #expect(outcomes == [.reading(celsius: 4.5), .measured(.humidity(percent: 81)), .measured(.battery(percent: 97))])
    }

    @Test func aPayloadWithSomeFieldsYieldsThose() {
        #expect(z2m.decode(#"{"battery":12,"linkquality":40}"#) == [.measured(.battery(percent: 12))])
        #expect(z2m.decode(#"{"temperature":null,"humidity":50}"#) == [.measured(.humidity(percent: 50))])
    }

    @Test func aPayloadWithNoneIsOneMissingField() {
        let outcomes = z2m.decode(#"{"linkquality":40}"#)
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.failureReason == .missingField)
        #expect(outcomes.first?.detail == "none of this device's channels (temperature, humidity, battery) is in the input")
    }

    @Test func notJSONIsSaidOnce() {
        let outcomes = z2m.decode("hello")
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.failureReason == .malformed)
    }

    @Test func eachChannelChecksItsOwnRange() {
        let outcomes = z2m.decode(#"{"temperature":21,"humidity":140}"#)
        #expect(outcomes == [.reading(celsius: 21), .outOfRangeValue(.humidity(percent: 140))])
        #expect(outcomes[1].failureReason == .outOfRange)
        #expect(outcomes[1].detail == "140 %RH is outside the valid range")
    }

    @Test func theAqaraWeatherSensorCarriesPressureInHectopascal() throws {
        let decoder = try DeviceDecoder(channels: [Self.json(.temperatureReading, "temperature"), Self.json(.pressureReading, "pressure"),
                                                   Self.json(.humidityReading, "humidity")])
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-wsdcgq11lm.json"))
                == [.reading(celsius: 21.86), .measured(.pressure(hpa: 1003.2)), .measured(.humidity(percent: 56.07))])
    }

    @Test func tasmotaNestsItsFields() throws {
        let decoder = try DeviceDecoder(channels: [Self.json(.temperatureReading, "BME280.Temperature"),
                                                   Self.json(.humidityReading, "BME280.Humidity"),
                                                   Self.json(.pressureReading, "BME280.Pressure")])
        #expect(decoder.decode(try Fixture.text("tasmota-bme280-sensor.json"))
                == [.reading(celsius: 21.4), .measured(.humidity(percent: 45.2)), .measured(.pressure(hpa: 1009.1))])
    }

    @Test func aZigbeeContactSaysClosedWithTrue() throws {
        // zigbee2mqtt's "contact": true means the magnet is near: closed. The profile says open_when: false.
        let decoder = try DeviceDecoder(channels: [Self.json(.contactChanged, "contact", match: .bool(false)),
                                                   Self.json(.batteryLevel, "battery")])
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-mccgq11lm-open.json"))
                == [.measured(.contact(open: true)), .measured(.battery(percent: 91))])
        #expect(decoder.decode(#"{"contact":true}"#) == [.measured(.contact(open: false))])
    }

    @Test func motionFalseIsNoEventButItsBatteryIs() throws {
        let decoder = try DeviceDecoder(channels: [Self.json(.motionDetected, "occupancy", match: .bool(true)), Self.json(.batteryLevel, "battery")])
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-rtcgq11lm-clear.json")) == [.measured(.battery(percent: 100))])
        #expect(decoder.decode(try Fixture.text("zigbee2mqtt-aqara-rtcgq11lm-occupied.json")).first == .motion)
        #expect(decoder.decode(#"{"occupancy":false}"#) == [])  // present and idle: not a missing field
    }

    @Test func aSingleChannelDeviceStillCountsAMissingField() throws {
        let decoder = try DeviceDecoder(spec: ReadingSpec(event: .temperatureReading, format: .json(field: ["temperature"], motionWhen: nil)))
        #expect(decoder.decode(#"{"humidity":50}"#).first?.failureReason == .missingField)
    }

    // MARK: Units and kernel attributes

    @Test func iioUnitsConvertToTheEventsUnits() throws {
        func decode(_ event: EventType, _ format: ReadingFormat, _ unit: ReadingUnit, _ text: String) throws -> ReadingOutcome {
            try ReadingDecoder(spec: ReadingSpec(event: event, format: format, unit: unit)).decode(text)
        }
        #expect(try decode(.humidityReading, .integer, .millipercent, "45210\n") == .measured(.humidity(percent: 45.21)))
        #expect(try decode(.pressureReading, .float, .kpa, "100.913585937\n").readingValue?.number.map(roundedReading) == 1009.136)
        #expect(try decode(.pressureReading, .integer, .pa, "101325") == .measured(.pressure(hpa: 1013.25)))
        #expect(try decode(.contactChanged, .integer, .celsius, "1") == .measured(.contact(open: true)))
        #expect(try decode(.contactChanged, .integer, .celsius, "0") == .measured(.contact(open: false)))
    }

    @Test func aContactEdgeIsItsNewLevel() throws {
        let decoder = try ReadingDecoder(spec: ReadingSpec(event: .contactChanged, format: .edge(.both, activeLow: false)))
        #expect(decoder.decode(edge: .rising) == .measured(.contact(open: true)))
        #expect(decoder.decode(edge: .falling) == .measured(.contact(open: false)))
        let inverted = try ReadingDecoder(spec: ReadingSpec(event: .contactChanged, format: .edge(.both, activeLow: true)))
        #expect(inverted.decode(edge: .rising) == .measured(.contact(open: false)))
    }

    @Test func kernelAttributesAndWhatReadsThemHonestly() {
        let humidity = SysfsAttribute.named("in_humidityrelative_input")
        #expect(humidity?.event == .humidityReading && humidity?.unit == .millipercent)
        #expect(SysfsAttribute.named("in_pressure_input")?.unit == .kpa)
        #expect(SysfsAttribute.named("in_pressure_input")?.decimal == true)
        #expect(SysfsAttribute.named("in_temp_raw")?.event == .temperatureReading)
        #expect(SysfsAttribute.named("humidity1_input")?.event == .humidityReading)
        #expect(SysfsAttribute.named("temp2_input")?.unit == .millicelsius)
        #expect(SysfsAttribute.named("in_temp_scale") == nil)
        #expect(SysfsAttribute.named("tempx_input") == nil)
        // 45 %RH read as 45 °C: the issue this check exists for.
        let asTemperature = ReadingSpec(event: .temperatureReading, format: .integer, unit: .millicelsius)
        #expect(humidity?.mismatch(with: asTemperature, file: "in_humidityrelative_input")
                == "in_humidityrelative_input is IIO relative humidity in milli-percent, but it is read as TemperatureReading in millicelsius; a HumidityReading channel with unit millipercent reads it")
        #expect(SysfsAttribute.named("in_pressure_input")?.mismatch(with: ReadingSpec(event: .pressureReading, format: .float, unit: .hpa), file: "in_pressure_input")
                == "in_pressure_input is IIO pressure in kPa, but the unit says hpa; use 'unit: kpa'")
        #expect(SysfsAttribute.named("in_pressure_input")?.mismatch(with: ReadingSpec(event: .pressureReading, format: .integer, unit: .kpa), file: "in_pressure_input")?
                .contains("use 'format: float'") == true)
        #expect(humidity?.mismatch(with: ReadingSpec(event: .humidityReading, format: .integer, unit: .millipercent), file: "f") == nil)
    }
}
