import Testing
@testable import SensorgateCore

@Suite struct ThermostatControllerTests {
    func config(mode: String = "heat", minOn: String = "2m", minOff: String = "2m", stale: String = "1h",
                maxRun: String? = nil, rules: String = "") throws -> GatewayConfig {
        try ruleConfig(devices: ["living", "hall"], """
            thermostats:
              - name: lr
                device: living
                mode: \(mode)
                target: 21
                hysteresis: 0.5
                min_on: \(minOn)
                min_off: \(minOff)
                stale_after: \(stale)
            \(maxRun.map { "    max_run: \($0)" } ?? "")
                actuator: { mqtt: { topic: boiler/set } }
            \(rules)
            """)
    }

    @Test func startsOffAndFollowsTheBand() throws {
        var h = Harness(try config())
        #expect(h.summary == ["off lr@0"])
        #expect(h.commands[0].reason == "start: output off")
        h.at(10, "living", celsius: 20.6)   // inside the band: stays off
        h.at(20, "living", celsius: 20.5)   // target - hysteresis: on
        h.at(200, "living", celsius: 21.4)  // inside: stays on
        h.at(210, "living", celsius: 21.5)  // target + hysteresis: off
        #expect(h.summary == ["off lr@0", "on lr@20", "off lr@210"])
        #expect(h.commands[1].reason == "20.5 °C <= 20.5 °C (target 21 - 0.5)")
        #expect(h.commands[1].celsius == 20.5 && h.commands[1].target == 21 && h.commands[1].mode == .heat)
        #expect(h.commands[2].reason == "21.5 °C >= 21.5 °C (target 21 + 0.5)")
    }

    @Test func coolModeIsTheMirror() throws {
        var h = Harness(try config(mode: "cool"))
        h.at(10, "living", celsius: 21.5)
        h.at(200, "living", celsius: 20.6)
        h.at(210, "living", celsius: 20.5)
        #expect(h.summary == ["off lr@0", "on lr@10", "off lr@210"])
    }

    @Test func noChatterOnNoiseInsideTheBand() throws {
        var h = Harness(try config(minOn: "0s", minOff: "0s"))
        var random = TestRandom(state: 42)
        h.at(0, "living", celsius: 20)
        for i in 1...10_000 { h.at(Double(i) * 10, "living", celsius: random.uniform(20.55, 21.45)) }
        #expect(h.summary == ["off lr@0", "on lr@0"])
    }

    @Test func neverSwitchesFasterThanMinOnAndMinOff() throws {
        var h = Harness(try config(minOn: "2m", minOff: "3m"))
        var random = TestRandom(state: 9)
        for i in 0..<20_000 { h.at(Double(i) * 5, "living", celsius: random.uniform(19, 23)) }
        let switches = h.commands.dropFirst()
        #expect(switches.count > 50)
        var previous = (time: -1e9, on: false)
        for (t, output) in h.log.dropFirst() {
            guard case .event(_, .thermostatCommand(let c)) = output else { continue }
            #expect(c.outputOn != previous.on)
            #expect(t - previous.time >= (c.outputOn ? 180 : 120), "switched \(c.outputOn ? "on" : "off") at \(t), \(t - previous.time) s after the last switch")
            previous = (t, c.outputOn)
        }
    }

    @Test func aHeldBackSwitchHappensWhenMinOnEnds() throws {
        var h = Harness(try config(minOn: "2m"))
        h.at(0, "living", celsius: 20)
        h.at(30, "living", celsius: 22)  // warm already, but on for only 30 s
        h.advance(to: 119.999)
        #expect(h.summary == ["off lr@0", "on lr@0"])
        h.advance(to: 300)
        #expect(h.summary == ["off lr@0", "on lr@0", "off lr@120"])
    }

    @Test func aSilentSensorTurnsTheOutputOffAndRaisesAnAlert() throws {
        var h = Harness(try config(minOn: "10m", stale: "2m"))
        h.at(0, "living", celsius: 19)
        h.advance(to: 1000)
        // Off at exactly stale_after, although min_on (10 m) has not passed: safety first.
        #expect(h.summary == ["off lr@0", "on lr@0", "raise lr.stale@120", "off lr@120"])
        #expect(h.commands.last?.reason == "fail-safe: sensor living silent for 2m")
        #expect(h.engine.thermostats[0].isStale)
        // Readings return: alert resolved, control resumes (min_off since the forced off has passed).
        h.at(1000, "living", celsius: 19)
        #expect(h.summary.suffix(2) == ["resolve lr.stale@1000", "on lr@1000"])
    }

    @Test func aSensorThatNeverReportsIsStaleToo() throws {
        var h = Harness(try config(stale: "2m"))
        h.advance(to: 500)
        #expect(h.summary == ["off lr@0", "raise lr.stale@120"])
    }

    @Test func maxRunForcesOffWithAnAlertUntilDemandEnds() throws {
        var h = Harness(try config(minOff: "5m", stale: "1h", maxRun: "1h"))
        for t in stride(from: 0.0, through: 3960, by: 60) { h.at(t, "living", celsius: 18) }
        #expect(h.summary == ["off lr@0", "on lr@0", "raise lr.max_run@3600", "off lr@3600", "on lr@3900"])
        h.at(4000, "living", celsius: 21.5)
        h.advance(to: 5000)
        // Demand has ended: the episode is over at once; the output follows when min_on (2 m since 3900 s) has passed.
        #expect(h.summary.suffix(2) == ["resolve lr.max_run@4000", "off lr@4020"])
    }

    @Test func rulesOverrideTargetAndModeWhileTheyHoldAndTheLatestWins() throws {
        var h = Harness(try config(minOn: "0s", minOff: "0s", stale: "1d", rules: """
            rules:
              - name: away
                when: { no_motion: { device: hall, for: 1h } }
                then: [ { thermostat: { name: lr, target: 17 } } ]
              - name: window-open
                when: { temperature: { device: living, below: 15 } }
                then: [ { thermostat: { name: lr, mode: off } } ]
            """))
        h.at(0, "living", celsius: 20)
        #expect(h.summary == ["off lr@0", "on lr@0"])
        h.advance(to: 3600)
        // Target 17: 20 °C is above 17.5, so the output goes off.
        #expect(h.engine.thermostats[0].target == 17)
        #expect(h.summary.last == "off lr@3600")
        h.at(4000, "living", celsius: 14)
        #expect(h.engine.thermostats[0].mode == .off)
        h.motion(5000, "hall")
        // Away ends: target back to 21, but the window rule still holds mode off.
        #expect(h.engine.thermostats[0].target == 21 && h.engine.thermostats[0].mode == .off)
        h.at(6000, "living", celsius: 19)
        #expect(h.engine.thermostats[0].mode == .heat)
        #expect(h.summary.last == "on lr@6000")
        #expect(h.commands.contains { $0.reason.hasPrefix("rule away ended: target 21 °C, mode off") })
    }
}
