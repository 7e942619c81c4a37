import Testing
@testable import SensorgateCore

/// Each reason /healthz can give, at its edge: just under the limit healthy, at it not.
@Suite struct HealthPolicyTests {
    static let policy = HealthPolicy(uplinkDownAfter: 60_000)

    static func devices(_ failing: [Int]) -> PipelineStatus {
        var p = PipelineStatus()
        p.devices = failing.enumerated().map { i, f in
            var d = DeviceStatus(id: "d\(i)", type: .temperatureReading, location: nil)
            d.failingFor = f
            d.lastFailure = f > 0 ? "readError: gone" : nil
            return d
        }
        return p
    }

    static func uplink(waiting: Int = 10, atDown: Int = 0, stored: Int = 0, bytes: Int64 = 0) -> UplinkStatus {
        var u = UplinkStatus()
        u.broker = "127.0.0.1:1883"
        u.waiting = waiting
        u.waitingAtDown = atDown
        u.stored = stored
        u.storedBytes = bytes
        u.maxEvents = 1_000
        u.maxBytes = 1_000_000
        return u
    }

    @Test func healthyWhenNothingIsWrong() {
        #expect(Self.policy.problems(pipeline: Self.devices([0, 3, 0]), uplink: Self.uplink(), downFor: nil, tickerSilentFor: 900).isEmpty)
    }

    @Test func uplinkDownOnlyPastTheLimitAndWhileEventsPileUp() {
        let p = Self.devices([0])
        #expect(Self.policy.problems(pipeline: p, uplink: Self.uplink(), downFor: 59_999, tickerSilentFor: 0).isEmpty)
        let down = Self.policy.problems(pipeline: p, uplink: Self.uplink(waiting: 10, atDown: 2), downFor: 60_000, tickerSilentFor: 0)
        #expect(down.map(\.reason) == [.uplinkDown])
        #expect(down.first?.message == "the broker 127.0.0.1:1883 has been unreachable for 1m and 8 event(s) have piled up since")
        // Down, but nothing to send (sensors quiet): the gateway loses nothing, so it is healthy.
        #expect(Self.policy.problems(pipeline: p, uplink: Self.uplink(waiting: 2, atDown: 2), downFor: 600_000, tickerSilentFor: 0).isEmpty)
    }

    @Test func bufferNearlyFullByEventsOrBytes() {
        let p = Self.devices([0])
        #expect(Self.policy.problems(pipeline: p, uplink: Self.uplink(stored: 899), downFor: nil, tickerSilentFor: 0).isEmpty)
        #expect(Self.policy.problems(pipeline: p, uplink: Self.uplink(stored: 900), downFor: nil, tickerSilentFor: 0).map(\.reason) == [.bufferNearlyFull])
        #expect(Self.policy.problems(pipeline: p, uplink: Self.uplink(bytes: 950_000), downFor: nil, tickerSilentFor: 0).map(\.reason) == [.bufferNearlyFull])
    }

    @Test func everyDeviceFailingButNotSomeAndNotNone() {
        #expect(Self.policy.problems(pipeline: Self.devices([1, 0]), uplink: nil, downFor: nil, tickerSilentFor: 0).isEmpty)
        #expect(Self.policy.problems(pipeline: Self.devices([]), uplink: nil, downFor: nil, tickerSilentFor: 0).isEmpty)
        let all = Self.policy.problems(pipeline: Self.devices([1, 5]), uplink: nil, downFor: nil, tickerSilentFor: 0)
        #expect(all.map(\.reason) == [.allDevicesFailing])
        #expect(all.first?.message == "every device is failing: d0 (readError: gone), d1 (readError: gone)")
    }

    @Test func ruleTickerLateAfterFiveSeconds() {
        #expect(Self.policy.problems(pipeline: Self.devices([0]), uplink: nil, downFor: nil, tickerSilentFor: 4_999).isEmpty)
        #expect(Self.policy.problems(pipeline: Self.devices([0]), uplink: nil, downFor: nil, tickerSilentFor: 5_000).map(\.reason) == [.ruleTickerLate])
    }
}
