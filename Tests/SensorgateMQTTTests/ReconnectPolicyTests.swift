import Testing
import SensorgateCore
@testable import SensorgateMQTT

/// When to try the broker again: the one Backoff, reset only by a connection that did its job.
@Suite struct ReconnectPolicyTests {
    @Test func delaysGrowWithEqualJitterAndAreCapped() {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60))
        var random = SplitMix64(seed: 7)
        let delays = (0..<12).map { _ in backoff.next(using: &random).milliseconds }
        for (i, d) in delays.enumerated() {
            let cap = Int64(min(60_000, 500 << i))
            #expect(d >= cap / 2 && d <= cap)
        }
        #expect(delays.suffix(4).allSatisfy { $0 >= 30_000 && $0 <= 60_000 })
    }

    @Test func aConnectionKickedRightAfterConnackKeepsBackingOff() {
        var policy = ReconnectPolicy()
        var random = SplitMix64(seed: 1)
        for _ in 0..<6 { _ = policy.ended(at: 0, using: &random) }  // six failed attempts
        policy.connected(at: 1_000)
        policy.acknowledged()  // it even got a PUBACK for its status message
        let delay = policy.ended(at: 1_300, using: &random)  // a duplicate client id kicks it at once
        #expect(delay.milliseconds >= 16_000)
    }

    @Test func aConnectionThatCarriedTrafficResetsTheDelay() {
        // A broker restarted every 10-20 s: each connection carried events, so the gateway is
        // back within one short step, not minutes later.
        var policy = ReconnectPolicy()
        var random = SplitMix64(seed: 2)
        for _ in 0..<6 { _ = policy.ended(at: 0, using: &random) }
        policy.connected(at: 0)
        policy.acknowledged()
        let delay = policy.ended(at: 12_000, using: &random)
        #expect(delay.milliseconds <= 500)
        #expect(policy.nextAttempt == 12_000 + delay.milliseconds)
    }

    @Test func anIdleConnectionThatStayedUpResetsTooButAShortIdleOneDoesNot() {
        var policy = ReconnectPolicy()
        var random = SplitMix64(seed: 3)
        for _ in 0..<4 { _ = policy.ended(at: 0, using: &random) }
        policy.connected(at: 0)
        #expect(policy.ended(at: 10_000, using: &random).milliseconds >= 4_000)
        policy.connected(at: 20_000)
        #expect(policy.ended(at: 50_000, using: &random).milliseconds <= 500)
    }

    @Test func jitterSpreadsGatewaysApart() {
        var random = SystemRandomNumberGenerator()
        let firsts = Set((0..<50).map { _ -> Int64 in
            var b = Backoff(initial: .seconds(8))
            return b.next(using: &random).milliseconds
        })
        #expect(firsts.count > 40)  // fifty gateways restarting together do not reconnect in step
    }

    @Test func topicFilters() {
        #expect(MQTTConnection.topic("zigbee2mqtt/garage", matches: "zigbee2mqtt/+"))
        #expect(MQTTConnection.topic("tele/a/SENSOR", matches: "tele/#"))
        #expect(!MQTTConnection.topic("zigbee2mqtt/garage/availability", matches: "zigbee2mqtt/+"))
    }
}
