import Testing
@testable import SensorgateCore

/// A stand-in for an adapter that decodes raw input, so devices can declare any reading and
/// several channels the way profiles do.
let probeSensor = AdapterDefinition(name: "probe", keys: [], readings: .decoded(formats: ["float", "json", "edge"])) { _ in
    StubSensorSettings(eventType: nil)
}

/// A config from inline YAML with `probe` devices (and the rules' stub devices).
func readingConfig(_ yaml: String) throws -> GatewayConfig {
    let text = "gateway: { id: test, state_dir: /tmp/unused }\nmqtt: { url: 'mqtt://127.0.0.1:1883' }\n" + yaml
    let result = ConfigLoader(files: MemoryFiles(files: ["/cfg.yaml": text]), environment: [:], adapters: [probeSensor, stubSensor])
        .load(path: "/cfg.yaml")
    guard let config = result.config else {
        Issue.record("config errors: \(result.diagnostics.map(\.description))")
        throw HarnessError.badConfig
    }
    return config
}

extension Harness {
    mutating func feed(_ seconds: Double, _ device: String, _ data: EventData) {
        record(replay.feed(Event(id: testEventID, source: "sensorgate/test", subject: device, time: time(seconds), seq: 0, data: data)))
    }
}

@Suite struct ReadingConditionTests {
    static let devices = """
        devices:
          - id: bme
            adapter: probe
            location: cellar
            channels:
              - { event: TemperatureReading, format: float }
              - { event: HumidityReading, format: float }
              - { event: PressureReading, format: float }
          - { id: door, adapter: probe, event: ContactChanged, format: edge }
          - { id: garage, adapter: probe, event: BatteryLevel, format: float }

        """

    @Test func humidityAboveForTenMinutes() throws {
        var h = Harness(try readingConfig(Self.devices + """
            rules:
              - name: damp
                when: { humidity: { device: bme, above: 70, for: 10m } }
                then: [ { alert: { message: "{location} at {humidity} %RH, {celsius} °C" } } ]
            """))
        h.feed(0, "bme", .temperature(celsius: 14, location: nil))
        h.feed(0, "bme", .humidity(percent: 71, location: nil))
        h.feed(300, "bme", .humidity(percent: 69, location: nil))  // a break restarts the timer
        h.feed(301, "bme", .humidity(percent: 75, location: nil))
        h.feed(400, "bme", .pressure(hpa: 990, location: nil))     // other readings change nothing
        h.advance(to: 2000)
        #expect(h.alerts == ["raise damp@901"])
        #expect(h.messages == ["cellar at 75 %RH, 14 °C"])
    }

    @Test func contactOpenForFiveMinutes() throws {
        var h = Harness(try readingConfig(Self.devices + """
            rules:
              - name: door-open
                when: { contact: { device: door, open: true, for: 5m } }
                then: [ { alert: { severity: warning, message: "{device} is {contact}" } } ]
            """))
        h.feed(0, "door", .contact(open: true, location: nil))
        h.feed(100, "door", .contact(open: false, location: nil))
        h.feed(200, "door", .contact(open: true, location: nil))
        h.feed(300, "door", .contact(open: true, location: nil))  // saying it again keeps the start
        h.advance(to: 499.999)
        #expect(h.alerts.isEmpty)
        h.advance(to: 500)
        h.feed(600, "door", .contact(open: false, location: nil))
        #expect(h.alerts == ["raise door-open@500", "resolve door-open@600"])
        #expect(h.messages == ["door is open"])
    }

    @Test func aClosedContactConditionWithoutFor() throws {
        var h = Harness(try readingConfig(Self.devices + """
            rules:
              - name: shut
                when: { contact: { device: door, open: false } }
                then: [ { alert: { message: "shut" } } ]
            """))
        h.advance(to: 10)
        #expect(h.alerts.isEmpty)  // nothing known yet is not "closed"
        h.feed(20, "door", .contact(open: false, location: nil))
        #expect(h.alerts == ["raise shut@20"])
    }

    @Test func lowBattery() throws {
        var h = Harness(try readingConfig(Self.devices + """
            rules:
              - name: low-battery
                when: { battery: { device: garage, below: 20 } }
                then: [ { alert: { message: "{device} battery at {battery} %" } } ]
              - name: storm
                when: { pressure: { device: bme, below: 980 } }
                then: [ { alert: { message: "{pressure} hPa" } } ]
            """))
        h.feed(0, "garage", .battery(percent: 20))
        h.feed(10, "garage", .battery(percent: 19))
        h.feed(20, "bme", .pressure(hpa: 975.5, location: nil))
        #expect(h.alerts == ["raise low-battery@10", "raise storm@20"])
        #expect(h.messages == ["garage battery at 19 %", "975.5 hPa"])
    }

    @Test func aRunningContactTimerSurvivesARestart() throws {
        let config = try readingConfig(Self.devices + """
            rules:
              - name: door-open
                when: { contact: { device: door, open: true, for: 5m } }
                then: [ { alert: { message: "open" } } ]
            """)
        var h = Harness(config)
        h.feed(0, "door", .contact(open: true, location: nil))
        h.advance(to: 200)
        var after = h.restarted(config, downtime: 60)
        after.advance(to: 359)
        #expect(after.alerts.isEmpty)  // 200 s heard before, the downtime does not count
        after.advance(to: 361)
        #expect(after.alerts == ["raise door-open@360"])
    }

    // MARK: Home Assistant holds

    static let thermostat = """
        devices:
          - { id: room, adapter: stub, kind: temperature }
        rules:
          - name: away
            when: { temperature: { device: room, below: 10 } }
            then: [ { thermostat: { name: heat, target: 16 } } ]
        thermostats:
          - { name: heat, device: room, target: 20, min_on: 0s, min_off: 0s, actuator: { mqtt: { topic: relay } } }

        """

    @Test func aTargetFromHomeAssistantHoldsAndSaysWhereItCameFrom() throws {
        var h = Harness(try readingConfig(Self.thermostat))
        h.at(0, "room", celsius: 21)
        let outputs = try h.replay.setFromHomeAssistant(thermostat: "heat", target: 22.5, mode: nil)
        let commands = outputs.compactMap { if case .event(_, .thermostatCommand(let c)) = $0 { return c } else { return nil } }
        // First who set it, then the switch it brings (21 <= 22.5 - 0.5).
        #expect(commands.map(\.reason) == ["set from Home Assistant: target 22.5 °C, mode heat", "21 °C <= 22 °C (target 22.5 - 0.5)"])
        #expect(commands.map(\.outputOn) == [false, true])
        #expect(commands.allSatisfy { $0.target == 22.5 })
        #expect(h.replay.engine.thermostats[0].target == 22.5)
        // A mode alone keeps HA's target.
        _ = try h.replay.setFromHomeAssistant(thermostat: "heat", target: nil, mode: .off)
        #expect(h.replay.engine.thermostats[0].target == 22.5)
        #expect(h.replay.engine.thermostats[0].mode == .off)
        #expect(throws: RuleEngine.HomeAssistantRejection.unknownThermostat("nope")) {
            try h.replay.setFromHomeAssistant(thermostat: "nope", target: 20, mode: nil)
        }
    }

    @Test func aHoldFromHomeAssistantSurvivesARestartAndARuleThatBecomesTrueLaterWins() throws {
        let config = try readingConfig(Self.thermostat)
        var h = Harness(config)
        h.at(0, "room", celsius: 21)
        _ = try h.replay.setFromHomeAssistant(thermostat: "heat", target: 23, mode: nil)
        var after = h.restarted(config, downtime: 30)
        #expect(after.engine.thermostats[0].target == 23)
        after.at(100, "room", celsius: 9)  // `away` becomes true after HA set 23: the newest hold wins
        #expect(after.engine.thermostats[0].target == 16)
        after.at(200, "room", celsius: 12)  // `away` ends: HA's value is back
        #expect(after.engine.thermostats[0].target == 23)
    }
}
