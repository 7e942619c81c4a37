import Testing
@testable import SensorgateCore

/// The filter chain on value sequences, with the clock in milliseconds passed in: what is
/// published when, and what is held back, at the boundaries of delta, throttle and heartbeat.
@Suite struct FilterChainTests {
    /// Feeds (ms, value) readings, asking for what is due before each and at `until`; returns
    /// "ms:value" for every publication (a trailing "t" for throttle, "h" for heartbeat) and the
    /// counts of held and replaced readings.
    static func run(_ spec: FilterSpec, _ readings: [(Int64, Double)], until end: Int64? = nil)
        -> (published: [String], held: Int, replaced: Int) {
        var chain = FilterChain(spec: spec)
        var out: [String] = []
        var held = 0, replaced = 0
        func drain(to t: Int64) {
            // Deadlines between readings fire at their own instant, as the pipeline's loop does.
            while let deadline = chain.nextDeadline(), deadline <= t {
                while let due = chain.due(at: deadline) {
                    out.append("\(deadline):\(JSONWriter.number(due.value))\(due.cause == .throttle ? "t" : "h")")
                }
            }
        }
        for (t, value) in readings {
            drain(to: t)
            let offer = chain.offer(value, at: t)
            if offer.replaced { replaced += 1 }
            switch offer.action {
            case .publish(let x): out.append("\(t):\(JSONWriter.number(x))")
            case .held: held += 1
            case .deferred, .invalid: break
            }
        }
        if let end { drain(to: end) }
        return (out, held, replaced)
    }

    // MARK: Transforms

    @Test func offsetThenMultiplyThenRound() {
        let spec = FilterSpec(offset: -0.5, scale: .multiply(2), round: 1)
        #expect(spec.transform(21.34) == 41.7)  // (21.34 - 0.5) × 2 = 41.68 → 41.7
        #expect(spec.transform(-1.04) == -3.1)  // (-1.04 - 0.5) × 2 = -3.08
        #expect(FilterSpec(round: 1).transform(-0.25) == -0.3)  // halves round away from zero
        #expect(FilterSpec(round: 0).transform(2.5) == 3)
        #expect(FilterSpec(round: 2).transform(1009.13585937) == 1009.14)
    }

    @Test func calibrateLinearIsExactThroughTwoPointsAndLeastSquaresThroughMore() throws {
        // A thermometer that reads 0.5 high at 0 °C and 1.5 high at 100 °C.
        let two = try #require(FilterSpec.linear(through: [.init(measured: 0.5, actual: 0), .init(measured: 101.5, actual: 100)]))
        let spec = FilterSpec(scale: two)
        #expect(abs(spec.transform(0.5) - 0) < 1e-12)
        #expect(abs(spec.transform(101.5) - 100) < 1e-12)
        #expect(abs(spec.transform(51) - 50) < 1e-12)
        // Three points off a line: the least-squares fit y = x - 1/3 (residuals +1/3, -2/3, +1/3).
        let three = try #require(FilterSpec.linear(through: [.init(measured: 0, actual: 0), .init(measured: 1, actual: 0),
                                                              .init(measured: 2, actual: 2)]))
        guard case .linear(let slope, let intercept, _) = three else { Issue.record("not linear"); return }
        #expect(abs(slope - 1) < 1e-12)
        #expect(abs(intercept + 1.0 / 3) < 1e-12)
        // No line through points that all measured the same.
        #expect(FilterSpec.linear(through: [.init(measured: 1, actual: 0), .init(measured: 1, actual: 2)]) == nil)
        #expect(FilterSpec.linear(through: [.init(measured: 1, actual: 0)]) == nil)
    }

    @Test func aFilterThatMakesInfinityIsNotAReading() {
        var chain = FilterChain(spec: FilterSpec(scale: .multiply(1e308)))
        #expect(chain.offer(10, at: 0).action == .invalid)
        #expect(chain.lastPublished == nil)
    }

    @Test func noFiltersPublishEveryReading() {
        let r = Self.run(FilterSpec(), [(0, 1), (1, 1), (2, 1)])
        #expect(r.published == ["0:1", "1:1", "2:1"])
        #expect(r.held == 0)
    }

    // MARK: delta

    @Test(arguments: [
        // (readings, published): the first always passes; "at least" delta passes, less is held,
        // and the reference is the last value published, not the last one read.
        ([20.0, 20.49, 20.5], ["0:20", "2:20.5"]),          // exactly 0.5 passes
        ([20.0, 20.499999, 19.5], ["0:20", "2:19.5"]),      // down by exactly 0.5 passes too
        ([20.0, 20.3, 20.6, 20.9], ["0:20", "2:20.6"]),     // creeping: 20.3 held, 20.6 is 0.6 from 20
        ([20.0, 19.6, 20.4, 20.0], ["0:20"]),               // wandering inside the band publishes nothing
    ])
    func deltaBoundaries(_ values: [Double], _ expected: [String]) {
        let readings = values.enumerated().map { (Int64($0.offset), $0.element) }
        let r = Self.run(FilterSpec(delta: 0.5), readings)
        #expect(r.published == expected)
        #expect(r.held == values.count - expected.count)
    }

    @Test func deltaAfterRoundingSurvivesBinaryFractions() {
        // 21.2 - 21.1 is 0.09999999999999787 in binary floating point; after round: 1 it is a 0.1 step.
        let r = Self.run(FilterSpec(round: 1, delta: 0.1), [(0, 21.1), (1, 21.14), (2, 21.16), (3, 21.24)])
        #expect(r.published == ["0:21.1", "2:21.2"])
        #expect(r.held == 2)
    }

    // MARK: throttle

    @Test func throttleAllowsOnePerIntervalAndPublishesTheLatestWhenItEnds() {
        // throttle 1 s: 0 publishes; 500 and 999 wait (999 replaces 500); at 1000 the waiting 999 value goes out.
        let r = Self.run(FilterSpec(throttle: .seconds(1)), [(0, 1), (500, 2), (999, 3)], until: 5000)
        #expect(r.published == ["0:1", "1000:3t"])
        #expect(r.replaced == 1)
    }

    @Test func aReadingExactlyOneIntervalLaterPassesAtOnce() {
        let r = Self.run(FilterSpec(throttle: .seconds(1)), [(0, 1), (1000, 2), (1999, 3), (3000, 4)], until: 10_000)
        #expect(r.published == ["0:1", "1000:2", "2000:3t", "3000:4"])
        #expect(r.replaced == 0)
    }

    @Test func aThrottledReadingDoesNotStartANewIntervalByWaiting() {
        // After the trailing publication at 1000 the next interval runs from 1000: 1500 waits until 2000.
        let r = Self.run(FilterSpec(throttle: .seconds(1)), [(0, 1), (400, 2), (1500, 3)], until: 5000)
        #expect(r.published == ["0:1", "1000:2t", "2000:3t"])
    }

    @Test func aWaitingReadingIsDroppedWhenTheValueReturnsInsideTheDeadband() {
        // 21 waits on the throttle; 20.1 comes back within delta of the published 20: nothing is due.
        let r = Self.run(FilterSpec(delta: 0.5, throttle: .seconds(1)), [(0, 20), (200, 21), (600, 20.1)], until: 5000)
        #expect(r.published == ["0:20"])
        #expect(r.held == 1)
        #expect(r.replaced == 1)
    }

    // MARK: heartbeat

    @Test func heartbeatRepeatsTheLatestHeldReadingAtItsInterval() {
        // delta 0.5, heartbeat 10 s, a steady sensor read every 2 s.
        let readings: [(Int64, Double)] = stride(from: Int64(0), through: 24_000, by: 2000).map { ($0, 20.0 + Double($0) / 1e6) }
        let r = Self.run(FilterSpec(delta: 0.5, heartbeat: .seconds(10)), readings, until: 24_000)
        // Published at 0; at exactly 10 s (the deadline fires before that instant's reading) the
        // heartbeat repeats the latest reading held back, the one of 8 s; again at 20 s.
        #expect(r.published == ["0:20", "10000:20.008h", "20000:20.018h"])
    }

    @Test func heartbeatExactlyAtTheBoundaryAndNotBefore() {
        var chain = FilterChain(spec: FilterSpec(delta: 1, heartbeat: .seconds(60)))
        #expect(chain.offer(5, at: 0).action == .publish(5))
        #expect(chain.offer(5.1, at: 1000).action == .held(.delta))
        #expect(chain.nextDeadline() == 60_000)
        #expect(chain.due(at: 59_999) == nil)
        #expect(chain.due(at: 60_000) == .init(value: 5.1, time: nil, cause: .heartbeat))
        #expect(chain.due(at: 60_000) == nil)
        #expect(chain.nextDeadline() == nil)  // nothing read since: nothing to repeat
    }

    @Test func aSilentSensorIsNotKeptAliveByTheHeartbeat() {
        // One reading, then silence: the heartbeat has nothing read to repeat, so rules see the silence.
        let r = Self.run(FilterSpec(delta: 0.5, heartbeat: .seconds(10)), [(0, 20)], until: 100_000)
        #expect(r.published == ["0:20"])
    }

    @Test func aChangeBeyondDeltaResetsTheHeartbeat() {
        let r = Self.run(FilterSpec(delta: 0.5, heartbeat: .seconds(10)), [(0, 20), (5000, 21), (9000, 21.1), (14_000, 21.2)],
                         until: 30_000)
        #expect(r.published == ["0:20", "5000:21", "15000:21.2h"])
    }

    @Test func heartbeatWaitsForTheThrottle() {
        // heartbeat 2 s, throttle 5 s (the config refuses this; the chain still honours throttle).
        let r = Self.run(FilterSpec(delta: 1, throttle: .seconds(5), heartbeat: .seconds(2)), [(0, 1), (100, 1.1)], until: 20_000)
        #expect(r.published == ["0:1", "5000:1.1h"])
    }

    @Test func timesOfHeldReadingsTravelWithThem() {
        var chain = FilterChain(spec: FilterSpec(throttle: .seconds(1)))
        let t0 = Timestamp(millisecondsSinceEpoch: 1_000_000)
        _ = chain.offer(1, time: t0, at: 0)
        _ = chain.offer(2, time: t0.adding(milliseconds: 300), at: 300)
        #expect(chain.due(at: 1000)?.time == t0.adding(milliseconds: 300))
    }
}
