import Testing
@testable import SensorgateCore

/// State saved to JSON and restored in a new engine, as across a restart or a SIGHUP reload.
/// Times in the restarted harness still count from day0, so the two logs read on one timeline.
@Suite struct RuleStateTests {
    let rules = """
        rules:
          - name: too-hot
            when: { temperature: { device: cpu, above: 70, for: 60s } }
            then: [ { alert: { message: "{device} hot" } } ]
            cooldown: 10m
          - name: away
            when: { no_motion: { device: hall, for: 2h } }
            then: [ { alert: { severity: info, message: "away" } } ]
        thermostats:
          - { name: lr, device: living, target: 21, min_on: 5m, min_off: 5m, stale_after: 10m, actuator: { mqtt: { topic: b } } }
        """

    func config() throws -> GatewayConfig { try ruleConfig(devices: ["cpu", "hall", "living"], rules) }

    @Test func aRunningForSurvivesARestart() throws {
        let config = try self.config()
        var h = Harness(config)
        h.at(0, "cpu", celsius: 75)
        h.advance(to: 40)
        // Down for 5 minutes: silence is not counted, so 20 s of the 60 s remain after the restart.
        var after = h.restarted(config, downtime: 300)
        after.advance(to: 340 + 19)
        #expect(after.alerts.isEmpty)
        after.advance(to: 340 + 20)
        #expect(after.alerts == ["raise too-hot@360"])
    }

    @Test func aRaisedAlertIsNotRaisedAgainAndResolvesOnce() throws {
        let config = try self.config()
        var h = Harness(config)
        h.at(0, "cpu", celsius: 75)
        h.advance(to: 100)
        #expect(h.alerts == ["raise too-hot@60"])
        var after = h.restarted(config, downtime: 10)
        after.at(120, "cpu", celsius: 76)
        after.advance(to: 200)
        #expect(after.alerts.isEmpty)
        after.at(300, "cpu", celsius: 50)
        #expect(after.alerts == ["resolve too-hot@300"])
        // The cooldown (10 m from the raise at 60 s) also survived.
        after.at(400, "cpu", celsius: 80)
        after.advance(to: 2000)
        #expect(after.alerts.filter { $0.contains("too-hot") } == ["resolve too-hot@300", "raise too-hot@660"])
    }

    @Test func noMotionKeepsCountingAfterARestart() throws {
        let config = try self.config()
        var h = Harness(config)
        h.motion(0, "hall")
        h.advance(to: 3600)
        var after = h.restarted(config, downtime: 60)
        after.advance(to: 3660 + 3599)
        #expect(after.alerts.isEmpty)
        after.advance(to: 3660 + 3600)
        #expect(after.alerts == ["raise away@7260"])
    }

    @Test func aThermostatThatWasOnKeepsItsMinOnAccounting() throws {
        let config = try self.config()
        var h = Harness(config)
        h.at(0, "living", celsius: 19)
        #expect(h.summary.last == "on lr@0")
        h.advance(to: 60)
        // Down 60 s; the relay stayed on, so min_on (5 m) has 180 s left after the restart at 120 s.
        var after = h.restarted(config, downtime: 60)
        #expect(after.summary == ["on lr@120"])
        #expect(after.commands[0].reason == "start: restoring output on")
        after.at(130, "living", celsius: 23)
        after.advance(to: 299)
        #expect(after.summary == ["on lr@120"])
        after.advance(to: 400)
        #expect(after.summary == ["on lr@120", "off lr@300"])
    }

    @Test func reloadKeepsStateOfRulesThatStillExist() throws {
        var h = Harness(try self.config())
        h.at(0, "cpu", celsius: 75)
        h.advance(to: 100)
        // A reload drops `away` and changes too-hot's duration; too-hot is still raised.
        let changed = try ruleConfig(devices: ["cpu", "hall", "living"], """
            rules:
              - name: too-hot
                when: { temperature: { device: cpu, above: 70, for: 90s } }
                then: [ { alert: { message: "{device} hot" } } ]
            """)
        var after = h.restarted(changed, downtime: 0)
        after.at(150, "cpu", celsius: 60)
        #expect(after.alerts == ["resolve too-hot@150"])
    }

    @Test func unreadableStateIsReportedAndIgnored() throws {
        var replay = RuleReplay(config: try ruleConfig(devices: ["cpu"], ""), start: day0)
        #expect(replay.restoreState(json: "{not json", elapsed: 0).first?.contains("not JSON") == true)
        #expect(replay.restoreState(json: "{\"version\": 99}", elapsed: 0).first?.contains("unknown version") == true)
    }

    /// Damaged state with impossible numbers (it trapped converting 1e300 ms to Int64).
    @Test func impossibleAgesInSavedStateAreIgnoredNotTrapped() throws {
        var replay = RuleReplay(config: try ruleConfig(devices: ["cpu"], """
            rules:
              - name: too-hot
                when: { temperature: { device: cpu, above: 70, for: 90s } }
                then: [ { alert: { message: "{device} hot" } } ]
            """), start: day0)
        let damaged = """
            {"version": 1, "devices": {"cpu": {"seen_age": 1e300, "celsius": 1e308}},
             "rules": {"too-hot": {"active": true, "fired": false, "raised": [], "raise_age": -5e18,
                                   "leaves": {"0:temperature:cpu": {"since_age": {"cpu": 9.3e18}}}}}}
            """
        _ = replay.restoreState(json: damaged, elapsed: 0)
        // Time runs on without a trap, and nothing fires from the nonsense.
        let outputs = replay.advance(to: Timestamp(millisecondsSinceEpoch: day0.millisecondsSinceEpoch + 3_600_000))
        #expect(outputs.isEmpty)
    }
}
