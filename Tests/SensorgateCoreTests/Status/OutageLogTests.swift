import Testing
@testable import SensorgateCore

/// What reaches the log of a device's failures: a dead sensor, a flapping one, one dead
/// channel beside live ones.
@Suite struct OutageLogTests {
    /// A dead sensor: its first failure, then the 10th, 100th, 1000th; then its recovery.
    @Test func aDeadSensorLogsItsFirstFailureThenPowersOfTenThenItsRecovery() {
        var log = OutageLog()
        let logged = (1...2_000).filter { log.failure(count: $0, at: Int64($0) * 1_000) }
        #expect(logged == [1, 10, 100, 1_000])
        let recovery = log.reading(at: 2_001_000)
        #expect(recovery)
        let noOutage = log.reading(at: 2_002_000)
        #expect(!noOutage, "a reading outside an outage is no recovery")
    }

    /// One dead channel of a BME280 every second, its two live channels reading between: an
    /// hour of it logs the first failure and recovery, then the failures at powers of ten only
    /// (it logged two lines a second before).
    @Test func oneDeadChannelBesideLiveOnesDoesNotFloodTheLog() {
        var log = OutageLog()
        var lines = 0
        for second in 1...3_600 {
            let now = Int64(second) * 1_000
            if log.reading(at: now) { lines += 1 }           // temperature
            if log.failure(count: second, at: now + 1) { lines += 1 }  // humidity: gone
            if log.reading(at: now + 2) { lines += 1 }       // pressure
        }
        #expect(lines == 2 + 3, "first failure, its recovery, then the 10th, 100th and 1000th failure: \(lines)")
    }

    /// A device that has read for a minute since its last failure opens a new outage in the
    /// log: it is a new problem, worth a line and its recovery.
    @Test func aFailureAfterAMinuteOfGoodReadingsIsANewOutage() {
        var log = OutageLog()
        let first = log.failure(count: 1, at: 0)
        #expect(first)
        let firstRecovery = log.reading(at: 1_000)
        #expect(firstRecovery)
        let flap = log.failure(count: 2, at: 30_000)
        #expect(!flap, "30 s after the recovery: the same flapping")
        let flapRecovery = log.reading(at: 31_000)
        #expect(!flapRecovery)
        let newOutage = log.failure(count: 3, at: 31_000 + OutageLog.settleMilliseconds)
        #expect(newOutage, "a minute of readings since")
        let newRecovery = log.reading(at: 100_000)
        #expect(newRecovery)
    }

    @Test(arguments: [(1, true), (2, false), (10, true), (11, false), (100, true), (1_000_000, true), (0, false), (20, false)])
    func powersOfTen(n: Int, expected: Bool) {
        #expect(isPowerOfTen(n) == expected)
    }
}
