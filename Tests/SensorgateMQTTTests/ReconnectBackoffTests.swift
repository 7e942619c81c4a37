import Testing
import SensorgateCore
@testable import SensorgateMQTT

@Suite struct ReconnectBackoffTests {
    @Test func growsWithJitterAndIsCapped() {
        var backoff = ReconnectBackoff(initial: .milliseconds(500), maximum: .seconds(60))
        var random = SystemRandomNumberGenerator()
        let delays = (0..<12).map { _ in backoff.nextDelay(using: &random).milliseconds }
        for (i, d) in delays.enumerated() {
            let cap = min(60_000, 500 << i)
            #expect(d >= Int64(cap / 2) && d <= Int64(cap))
        }
        #expect(delays.suffix(4).allSatisfy { $0 >= 30_000 && $0 <= 60_000 })
    }

    @Test func aConnectionKickedSoonAfterDoesNotResetTheDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(500), maximum: .seconds(60), stableAfter: .seconds(30))
        var random = SystemRandomNumberGenerator()
        for _ in 0..<6 { _ = backoff.nextDelay(using: &random) }
        backoff.connectionEnded(after: .seconds(2))  // duplicate client id: kicked at once
        #expect(backoff.nextDelay(using: &random).milliseconds >= 8_000)
        backoff.connectionEnded(after: .seconds(45))  // a connection that stayed up
        #expect(backoff.nextDelay(using: &random).milliseconds <= 500)
    }

    @Test func jitterSpreadsClientsApart() {
        var random = SystemRandomNumberGenerator()
        let firsts = Set((0..<50).map { _ -> Int64 in
            var b = ReconnectBackoff(initial: .seconds(8))
            return b.nextDelay(using: &random).milliseconds
        })
        #expect(firsts.count > 40)  // fifty gateways restarting together do not reconnect in step
    }

    @Test func topicFilters() {
        #expect(MQTTConnection.topic("zigbee2mqtt/garage", matches: "zigbee2mqtt/+"))
        #expect(MQTTConnection.topic("tele/a/SENSOR", matches: "tele/#"))
        #expect(!MQTTConnection.topic("zigbee2mqtt/garage/availability", matches: "zigbee2mqtt/+"))
    }
}
