import Testing
@testable import SensorgateCore

@Suite struct RuleEngineTests {
    let tooHot = """
        rules:
          - name: too-hot
            when: { temperature: { device: cpu, above: 70, for: 30s } }
            then:
              - alert: { severity: warning, message: "{device} at {celsius} °C in {location} ({rule})" }
        """

    @Test func forFiresExactlyAtItsDurationFromATick() throws {
        var h = Harness(try ruleConfig(devices: ["cpu"], tooHot))
        h.at(0, "cpu", celsius: 71)
        h.advance(to: 29.999)
        #expect(h.alerts.isEmpty)
        h.advance(to: 100)
        #expect(h.alerts == ["raise too-hot@30"])
        #expect(h.messages == ["cpu at 71 °C in cpu-room (too-hot)"])
    }

    @Test(arguments: [
        // (readings as (second, celsius), expected alerts)
        ([(0.0, 71.0), (29.999, 69.0)], [String]()),                       // broken 1 ms before the end
        ([(0.0, 71.0), (30.0, 69.0)], ["raise too-hot@30", "resolve too-hot@30"]),  // the tick at 30 s comes first
        ([(0.0, 70.0), (40.0, 70.0)], []),                                  // exactly 70 is not above 70
        ([(0.0, 70.001), (10.0, 75.0)], ["raise too-hot@30"]),             // a continuing run keeps its start
        ([(0.0, 71.0), (10.0, 65.0), (11.0, 71.0)], ["raise too-hot@41"]), // a break restarts the timer
    ])
    func forBoundaries(_ readings: [(Double, Double)], _ expected: [String]) throws {
        var h = Harness(try ruleConfig(devices: ["cpu"], tooHot))
        for (t, c) in readings { h.at(t, "cpu", celsius: c) }
        h.advance(to: 60)
        #expect(h.alerts == expected)
    }

    @Test func resolvesOnceAndCooldownDelaysTheNextRaise() throws {
        var h = Harness(try ruleConfig(devices: ["cpu"], """
            rules:
              - name: hot
                when: { temperature: { device: cpu, above: 70 } }
                then: [ { alert: { message: "hot" } } ]
                cooldown: 10m
            """))
        h.at(0, "cpu", celsius: 71)
        h.at(1, "cpu", celsius: 72)      // still true: nothing new
        h.at(60, "cpu", celsius: 60)     // resolved
        h.at(61, "cpu", celsius: 60)     // still false: nothing new
        h.at(120, "cpu", celsius: 75)    // true again inside the cooldown: held back
        h.advance(to: 599)
        #expect(h.alerts == ["raise hot@0", "resolve hot@60"])
        h.advance(to: 700)
        #expect(h.alerts == ["raise hot@0", "resolve hot@60", "raise hot@600"])
        // A flap that starts and ends inside a cooldown raises nothing and resolves nothing.
        h.at(700, "cpu", celsius: 60)
        h.at(800, "cpu", celsius: 80)
        h.at(810, "cpu", celsius: 60)
        h.advance(to: 2000)
        #expect(h.alerts == ["raise hot@0", "resolve hot@60", "raise hot@600", "resolve hot@700"])
    }

    @Test func raisesAndResolvesAlternateUnderNoisyReadings() throws {
        var h = Harness(try ruleConfig(devices: ["cpu", "gpu"], """
            rules:
              - name: band
                when: { any: [ { temperature: { device: cpu, above: 70, for: 20s } }, { temperature: { device: gpu, below: 10 } } ] }
                then: [ { alert: { message: "{device}" } } ]
                cooldown: 1m
            """))
        var random = TestRandom(state: 7)
        for i in 0..<5000 {
            let t = Double(i) * 3
            h.at(t, i % 2 == 0 ? "cpu" : "gpu", celsius: random.uniform(0, 90))
        }
        let alerts = h.alerts
        #expect(alerts.count > 20)
        var last: String? = nil
        var lastRaise = -1e9
        for a in alerts {
            let kind = String(a.split(separator: " ")[0])
            #expect(kind != last, "two \(kind)s in a row")
            if kind == "raise" {
                let t = Double(a.split(separator: "@")[1])!
                #expect(t - lastRaise >= 60, "raises closer than the cooldown")
                lastRaise = t
            }
            last = kind
        }
    }

    @Test(arguments: [
        // (motion at local time, 23:00–06:00 window, expected alert)
        ("22:59:59", false), ("23:00:00", true), ("02:30:00", true), ("05:59:59", true), ("06:00:00", false), ("12:00:00", false),
    ])
    func timeWindowsCrossMidnight(_ clock: String, _ expected: Bool) throws {
        let config = try ruleConfig(devices: ["hall"], """
            rules:
              - name: night-motion
                when: { all: [ { motion: { device: hall } }, { time: { after: "23:00", before: "06:00" } } ] }
                then: [ { alert: { severity: critical, message: "motion in {location}" } } ]
            """)
        // Local time is UTC+01:00: the wall clock reads an hour less.
        let parts = clock.split(separator: ":").map { Double($0)! }
        let localSeconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
        var h = Harness(config, start: day0, utcOffset: 3600)
        h.motion(localSeconds - 3600 + 86_400, "hall")
        h.advance(to: 200_000)
        #expect(h.alerts.count == (expected ? 2 : 0))
        if expected {
            #expect(h.messages == ["motion in hall-room"])
            // momentary: resolved at the next evaluation, 1 ms later
            let times = h.log.map(\.0)
            #expect(times[1] - times[0] < 0.0011)
        }
    }

    @Test func aWindowOnOneWeekdayBelongsToTheDayItStarts() throws {
        let config = try ruleConfig(devices: ["hall"], """
            rules:
              - name: friday-night
                when: { all: [ { motion: { device: hall } }, { time: { after: "23:00", before: "06:00", weekdays: [fri] } } ] }
                then: [ { alert: { message: "m" } } ]
            """)
        // day0 is Thursday 2026-11-26. Friday 02:00 belongs to Thursday's night: no alert.
        var h = Harness(config)
        h.motion(86_400 + 2 * 3600, "hall")
        #expect(h.alerts.isEmpty)
        // Friday 23:30 and Saturday 02:00 belong to Friday's night: alerts.
        h.motion(86_400 + 23.5 * 3600, "hall")
        h.advance(to: 86_400 + 23.5 * 3600 + 1)
        #expect(h.alerts.count == 2)
        h.motion(2 * 86_400 + 2 * 3600, "hall")
        h.advance(to: 2 * 86_400 + 2 * 3600 + 1)
        #expect(h.alerts.count == 4)
        // Saturday 23:30 does not.
        h.motion(2 * 86_400 + 23.5 * 3600, "hall")
        h.advance(to: 3 * 86_400)
        #expect(h.alerts.count == 4)
    }

    @Test func timeAloneRaisesAndResolvesFromTicks() throws {
        var h = Harness(try ruleConfig(devices: ["cpu"], """
            rules:
              - name: quiet-hours
                when: { time: { after: "22:00", before: "07:00" } }
                then: [ { alert: { severity: info, message: "quiet hours" } } ]
            """))
        h.advance(to: 2 * 86_400)
        #expect(h.alerts == ["raise quiet-hours@0", "resolve quiet-hours@25200", "raise quiet-hours@79200",
                             "resolve quiet-hours@111600", "raise quiet-hours@165600"])
    }

    @Test func noMotionFiresWithoutAnyEvent() throws {
        var h = Harness(try ruleConfig(devices: ["hall"], """
            rules:
              - name: away
                when: { no_motion: { device: hall, for: 2h } }
                then: [ { alert: { severity: info, message: "no motion in {location}" } } ]
            """))
        h.motion(600, "hall")
        h.advance(to: 600 + 7199)
        #expect(h.alerts.isEmpty)
        h.advance(to: 600 + 7200)
        #expect(h.alerts == ["raise away@7800"])
        h.motion(9000, "hall")
        #expect(h.alerts == ["raise away@7800", "resolve away@9000"])
        #expect(h.messages == ["no motion in hall-room"])
    }

    @Test func staleFiresForTheSilentDeviceOfAGlob() throws {
        var h = Harness(try ruleConfig(devices: ["room-a", "room-b"], """
            rules:
              - name: silent
                when: { stale: { device: "room-*", for: 5m } }
                then: [ { alert: { message: "{device} silent" } } ]
            """))
        for t in stride(from: 0.0, through: 1000, by: 60) {
            h.at(t, "room-a", celsius: 20)
            if t < 100 { h.at(t, "room-b", celsius: 20) }
        }
        #expect(h.alerts == ["raise silent@360"])
        #expect(h.messages == ["room-b silent"])
        h.at(1001, "room-b", celsius: 20)
        #expect(h.alerts == ["raise silent@360", "resolve silent@1001"])
    }

    @Test func rateOfChangeWithinAWindow() throws {
        var h = Harness(try ruleConfig(devices: ["boiler"], """
            rules:
              - name: heating-fast
                when: { rate: { device: boiler, rises_by: 2, within: 60s } }
                then: [ { alert: { message: "{device} rising, now {celsius}" } } ]
              - name: cooling-fast
                when: { rate: { device: boiler, falls_by: 3, within: 60s } }
                then: [ { alert: { message: "{device} falling" } } ]
            """))
        h.at(0, "boiler", celsius: 20)
        h.at(30, "boiler", celsius: 21)
        h.at(50, "boiler", celsius: 21.9)
        #expect(h.alerts.isEmpty)
        h.at(55, "boiler", celsius: 22.0)
        #expect(h.alerts == ["raise heating-fast@55"])
        #expect(h.messages == ["boiler rising, now 22"])
        // The 20 °C reading leaves the window just after 60 s: the rise within 60 s is now 1 °C.
        h.advance(to: 120)
        #expect(h.alerts == ["raise heating-fast@55", "resolve heating-fast@60.001"])
        h.at(100, "boiler", celsius: 22)
        h.at(130, "boiler", celsius: 18.9)
        #expect(h.alerts.last == "raise cooling-fast@130")
    }

    @Test func globsBindTheDeviceThatCrossed() throws {
        var h = Harness(try ruleConfig(devices: ["room-1", "room-2", "attic"], """
            rules:
              - name: cold-room
                when: { temperature: { device: "room-*", below: 15 } }
                then: [ { alert: { message: "{device} at {celsius}" } } ]
            """))
        h.at(0, "room-1", celsius: 18)
        h.at(1, "attic", celsius: 5)
        h.at(2, "room-2", celsius: 14.5)
        #expect(h.messages == ["room-2 at 14.5"])
    }

    @Test func publishFiresOnceWhenTheConditionBecomesTrue() throws {
        var h = Harness(try ruleConfig(devices: ["cpu"], """
            rules:
              - name: fan
                when: { temperature: { device: cpu, above: 60 } }
                then: [ { publish: { topic: fan/set, payload: "ON" } } ]
            """))
        for (i, c) in [61.0, 62, 63, 50, 65].enumerated() { h.at(Double(i), "cpu", celsius: c) }
        #expect(h.summary == ["publish fan/set@0", "publish fan/set@4"])
        #expect(h.log.first?.1 == .publish(topic: "fan/set", payload: "ON", retain: false, qos: 1))
    }

    @Test func notAndAllCombine() throws {
        var h = Harness(try ruleConfig(devices: ["cpu", "hall"], """
            rules:
              - name: warm-and-empty
                when: { all: [ { temperature: { device: cpu, above: 25 } }, { not: { no_motion: { device: hall, for: 10m } } } ] }
                then: [ { alert: { message: "{device}" } } ]
            """))
        h.at(0, "cpu", celsius: 26)
        #expect(h.alerts == ["raise warm-and-empty@0"])
        h.advance(to: 600)
        #expect(h.alerts == ["raise warm-and-empty@0", "resolve warm-and-empty@600"])
        h.motion(700, "hall")
        #expect(h.alerts.last == "raise warm-and-empty@700")
    }

    @Test(arguments: [Int64(86_400_000), Int64(-86_400_000) * 365])
    func wallClockStepsNeitherFireNorStallTimers(_ step: Int64) throws {
        // A Pi without an RTC boots in the past and jumps when NTP syncs: only the monotonic clock counts.
        var engine = RuleEngine(config: try ruleConfig(devices: ["cpu"], tooHot), start: RuleInstant(wall: day0))
        func at(_ monotonicSeconds: Int64, wallStep: Int64) -> RuleInstant {
            let wall = day0.adding(milliseconds: monotonicSeconds * 1000 + wallStep)
            return RuleInstant(monotonic: monotonicSeconds * 1000, wall: wall, local: LocalTime(wall: wall, utcOffsetSeconds: 0))
        }
        let reading = Event(id: testEventID, source: "s", subject: "cpu", time: day0, seq: 1, data: .temperature(celsius: 71, location: nil))
        #expect(engine.handle(reading, at: at(0, wallStep: 0)).isEmpty)
        #expect(engine.tick(at: at(10, wallStep: step)).isEmpty)
        #expect(engine.tick(at: at(29, wallStep: step)).isEmpty)
        let fired = engine.tick(at: at(30, wallStep: step))
        #expect(fired.count == 1)
        if case .event(_, .alertRaised(let alert))? = fired.first { #expect(alert.rule == "too-hot") } else { Issue.record("no alert") }
    }

    @Test func eventsFromUnknownDevicesAndOtherTypesChangeNothing() throws {
        var engine = RuleEngine(config: try ruleConfig(devices: ["cpu"], tooHot), start: RuleInstant(wall: day0))
        let alert = Event(id: testEventID, source: "s", subject: "cpu", time: day0, seq: 1,
                          data: .alertRaised(AlertData(rule: "x", severity: .info, message: "m")))
        #expect(engine.handle(alert, at: RuleInstant(wall: day0)).isEmpty)
        let stranger = Event(id: testEventID, source: "s", subject: "nope", time: day0, seq: 1, data: .temperature(celsius: 99, location: nil))
        #expect(engine.handle(stranger, at: RuleInstant(wall: day0)).isEmpty)
    }
}

@Suite struct TimeWindowTests {
    @Test func windowsAndWeekdays() {
        let thu = Weekday.thursday
        func at(_ h: Int, _ m: Int, _ d: Weekday = thu) -> LocalTime { LocalTime(secondOfDay: h * 3600 + m * 60, weekday: d) }
        #expect(TimeWindow.contains(at(8, 0), after: 7 * 3600, before: 9 * 3600, weekdays: nil))
        #expect(!TimeWindow.contains(at(9, 0), after: 7 * 3600, before: 9 * 3600, weekdays: nil))
        #expect(TimeWindow.contains(at(8, 0), after: 7 * 3600, before: 9 * 3600, weekdays: [.thursday]))
        #expect(!TimeWindow.contains(at(8, 0), after: 7 * 3600, before: 9 * 3600, weekdays: [.friday]))
        #expect(TimeWindow.contains(at(0, 30, .friday), after: 23 * 3600, before: 3600, weekdays: [.thursday]))
        #expect(TimeWindow.contains(at(12, 0), after: 0, before: 86_400, weekdays: nil))
    }

    @Test func localTimeFromWallClockAndOffset() {
        let t = Timestamp(rfc3339: "2026-11-26T23:30:00Z")!  // Thursday
        #expect(LocalTime(wall: t, utcOffsetSeconds: 0) == LocalTime(secondOfDay: 23 * 3600 + 1800, weekday: .thursday))
        #expect(LocalTime(wall: t, utcOffsetSeconds: 3600) == LocalTime(secondOfDay: 1800, weekday: .friday))
        #expect(LocalTime(wall: t, utcOffsetSeconds: -5 * 3600) == LocalTime(secondOfDay: 18 * 3600 + 1800, weekday: .thursday))
    }
}
