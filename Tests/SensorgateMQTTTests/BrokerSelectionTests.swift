import Testing
@testable import SensorgateMQTT

/// Failover between the brokers of `mqtt.urls`, and going back to the first: a table of inputs
/// and what the selection says, no broker needed.
@Suite struct BrokerSelectionTests {
    enum Step {
        case up(at: Int64)
        case ended
        case probe(up: Bool, at: Int64)
        case back
    }

    /// Runs `steps`, returning after each: (current, connected, what the step answered).
    static func run(_ selection: inout BrokerSelection, _ steps: [Step]) -> [String] {
        steps.map { step in
            switch step {
            case .up(let now):
                let from = selection.connectionUp(at: now)
                return "up \(selection.current)" + (from.map { " from \($0)" } ?? "")
            case .ended:
                return "next \(selection.connectionEnded())"
            case .probe(let up, let now):
                return selection.probed(up: up, at: now) ? "return" : "stay"
            case .back:
                selection.returningToPrimary()
                return "to \(selection.current)"
            }
        }
    }

    @Test func oneBrokerIsAlwaysTheOne() {
        var s = BrokerSelection(count: 1)
        #expect(Self.run(&s, [.ended, .ended, .up(at: 0), .ended, .up(at: 10)]) == ["next 0", "next 0", "up 0", "next 0", "up 0"])
        #expect(!s.probeDue(at: 1_000_000))
    }

    @Test func failedAttemptsGoRoundTheList() {
        var s = BrokerSelection(count: 3)
        #expect(Self.run(&s, [.ended, .ended, .ended, .ended, .up(at: 0)]) == ["next 1", "next 2", "next 0", "next 1", "up 1"])
    }

    @Test func aLostConnectionFailsOverToTheNextAndSaysFromWhere() {
        var s = BrokerSelection(count: 2)
        #expect(Self.run(&s, [.up(at: 0), .ended, .up(at: 500), .ended, .up(at: 900)]) == ["up 0", "next 1", "up 1 from 0", "next 0", "up 0 from 1"])
    }

    @Test func theFirstConnectionIsNoSwitchWhereverItLands() {
        var s = BrokerSelection(count: 3)
        #expect(Self.run(&s, [.ended, .up(at: 0)]) == ["next 1", "up 1"])
        #expect(s.previous == 1)
    }

    @Test func thePrimaryIsProbedOnlyFromAnotherBroker() {
        var s = BrokerSelection(count: 2, preferPrimaryAfter: 60_000)
        #expect(s.probeInterval == 15_000)
        _ = s.connectionUp(at: 0)
        #expect(!s.probeDue(at: 100_000))  // on the primary: nothing to probe
        s.connectionEnded()
        _ = s.connectionUp(at: 1_000)
        #expect(!s.probeDue(at: 15_999))
        #expect(s.probeDue(at: 16_000))
        s.connectionEnded()
        #expect(!s.probeDue(at: 100_000))  // not connected: no probe
    }

    @Test func returnsToThePrimaryOnlyAfterItAnsweredWithoutABreakForTheWholeTime() {
        var s = BrokerSelection(count: 2, preferPrimaryAfter: 60_000)
        _ = s.connectionUp(at: 0)
        s.connectionEnded()
        _ = s.connectionUp(at: 1_000)
        let answers = Self.run(&s, [
            .probe(up: true, at: 16_000), .probe(up: true, at: 31_000),
            .probe(up: false, at: 46_000),  // a break: the time starts again
            .probe(up: true, at: 61_000), .probe(up: true, at: 76_000), .probe(up: true, at: 91_000), .probe(up: true, at: 106_000),
            .probe(up: true, at: 121_000),
        ])
        #expect(answers == ["stay", "stay", "stay", "stay", "stay", "stay", "stay", "return"])
        #expect(s.nextProbe == 136_000)
        #expect(Self.run(&s, [.back, .up(at: 121_500)]) == ["to 0", "up 0 from 1"])
        #expect(!s.probeDue(at: 1_000_000))
    }

    @Test func aPrimaryThatFailsOnTheWayBackIsLeftForTheNextAgain() {
        var s = BrokerSelection(count: 3, preferPrimaryAfter: 1_000)
        #expect(Self.run(&s, [.ended, .ended, .up(at: 0), .probe(up: true, at: 1_000), .probe(up: true, at: 2_000), .back, .ended, .up(at: 2_600)])
                == ["next 1", "next 2", "up 2", "stay", "return", "to 0", "next 1", "up 1 from 2"])
    }

    @Test func probeIntervalIsBounded() {
        #expect(BrokerSelection(count: 2, preferPrimaryAfter: 1_000).probeInterval == 1_000)
        #expect(BrokerSelection(count: 2, preferPrimaryAfter: 3_600_000).probeInterval == 30_000)
    }
}
