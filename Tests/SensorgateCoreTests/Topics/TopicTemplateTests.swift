import Testing
@testable import SensorgateCore

/// `mqtt.topic_template`: checked once (each problem at its offset), expanded per event.
@Suite struct TopicTemplateTests {
    @Test func theStandardTemplateIsSpecTopics() {
        #expect(TopicTemplate.standard.description == "{prefix}/{gateway}/{type}/{subject}")
        #expect(TopicTemplate.parse("{prefix}/{gateway}/{type}/{subject}").template == .standard)
        #expect(TopicTemplate.standard.expand(prefix: "sensorgate", gateway: "pi", type: "TemperatureReading", subject: "cpu",
                                              location: nil) == "sensorgate/pi/TemperatureReading/cpu")
    }

    @Test(arguments: [
        ("{prefix}/{gateway}/{location}/{subject}/{type}", "home/pi/living room/t1/TemperatureReading"),
        ("site-7/{gateway}/sensors/{subject}", "site-7/pi/sensors/t1"),
        ("{prefix}/{type}", "home/TemperatureReading"),
        ("x{subject}y/{location}", "xt1y/living room"),
    ])
    func expands(template: String, topic: String) throws {
        let t = try #require(TopicTemplate.parse(template).template)
        #expect(t.expand(prefix: "home", gateway: "pi", type: "TemperatureReading", subject: "t1", location: "living room") == topic)
    }

    /// Every reading with a location puts it in `{location}`: humidity, pressure and contact too.
    @Test(arguments: [EventData.temperature(celsius: 21, location: "attic"), .motion(location: "attic"),
                      .humidity(percent: 40, location: "attic"), .pressure(hpa: 1013, location: "attic"),
                      .contact(open: true, location: "attic")])
    func readingsCarryTheirLocation(_ data: EventData) throws {
        var rng = SplitMix64(seed: 1)
        let event = Event(id: EventID(milliseconds: 1_795_719_156_123, using: &rng), source: "sensorgate/pi", subject: "s1",
                          time: Timestamp(millisecondsSinceEpoch: 1_795_719_156_123), seq: 1, data: data)
        let template = try #require(TopicTemplate.parse("{prefix}/{location}/{subject}").template)
        #expect(event.topic(template: template, prefix: "home", gatewayID: "pi") == "home/attic/s1")
    }

    @Test func valuesStayOneValidLevel() throws {
        let t = try #require(TopicTemplate.parse("{prefix}/{location}/{subject}").template)
        // A prefix may span levels; a location may not, and wildcards never reach a publish topic.
        #expect(t.expand(prefix: "a/b", gateway: "g", type: "T", subject: "s", location: "1st floor/#2+") == "a/b/1st floor__2_/s")
        #expect(t.expand(prefix: "p", gateway: "g", type: "T", subject: "s", location: nil) == "p/unknown/s")
        #expect(t.expand(prefix: "p", gateway: "g", type: "T", subject: "s", location: "") == "p/_/s")
    }

    @Test(arguments: [
        ("", [TopicTemplate.Problem.empty]),
        ("{prefix}/{gw}/{subject}", [.unknownPlaceholder("gw", offset: 9)]),
        ("{prefix}/+/{subject}", [.wildcard("+", offset: 9)]),
        ("{prefix}/#", [.wildcard("#", offset: 9)]),
        ("/{prefix}", [.emptyLevel(offset: 0)]),
        ("{prefix}//{subject}", [.emptyLevel(offset: 9)]),
        ("{prefix}/", [.emptyLevel(offset: 8)]),
        ("{prefix}/{subject", [.unclosedBrace(offset: 9)]),
        ("{prefix}/subject}", [.unopenedBrace(offset: 16)]),
        ("$SYS/{subject}", [.reserved]),
        ("{Prefix}/{x}/{subject}", [.unknownPlaceholder("Prefix", offset: 0), .unknownPlaceholder("x", offset: 9)]),
    ])
    func refuses(template: String, problems: [TopicTemplate.Problem]) {
        let parsed = TopicTemplate.parse(template)
        #expect(parsed.template == nil)
        #expect(parsed.problems == problems)
    }

    @Test func eventsExpandWithTheirLocation() throws {
        let t = try #require(TopicTemplate.parse("{prefix}/{location}/{type}/{subject}").template)
        var rng = SplitMix64(seed: 1)
        let reading = Event(id: EventID(milliseconds: 0, using: &rng), source: "sensorgate/g", subject: "cpu",
                            time: Timestamp(millisecondsSinceEpoch: 0), seq: 1, data: .temperature(celsius: 20, location: "attic"))
        #expect(reading.topic(template: t, prefix: "p", gatewayID: "g") == "p/attic/TemperatureReading/cpu")
        var alert = reading
        alert.data = .alertRaised(AlertData(rule: "hot", severity: .warning, message: "m"))
        #expect(alert.topic(template: t, prefix: "p", gatewayID: "g") == "p/unknown/AlertRaised/cpu")
        #expect(reading.topic(template: .standard, prefix: "p", gatewayID: "g") == reading.topic(prefix: "p", gatewayID: "g"))
    }
}
