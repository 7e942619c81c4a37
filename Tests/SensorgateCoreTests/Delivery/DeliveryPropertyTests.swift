import PropertyBased
import Testing
import SensorgateCore

/// Random interleavings of events, PUBACKs, refusals, outages, stalls, full disks, clean
/// restarts and kill -9, checked against SPEC.md "Delivery guarantees":
/// - nothing is lost but what `on_full` dropped (counted) or, after a kill -9 in mode offline,
///   what was only in memory at that moment;
/// - nothing arrives twice unless it was in flight when its connection or process ended;
/// - first arrivals are in seq order (an event the broker refused may come later, after its retry);
/// - the disk never holds more than `max_events`, the memory queue never more than its limit.
@Suite struct DeliveryPropertyTests {
    enum Op {
        case emit(Int), acknowledge(Int), steady(Int), advance(Int64), brokerDown(reached: Int), brokerUp
        case diskFull, diskBack, poisonNext, crash, restart, stall
    }

    static func op(_ code: Int) -> Op {
        switch code {
        case 0..<25: return .emit(code % 5 + 1)
        case 25..<45: return .acknowledge(code % 8)
        case 45..<55: return .advance(Int64(code % 10) * 97 + 10)
        case 55..<59: return .brokerDown(reached: code % 3)
        case 59..<65: return .brokerUp
        case 65..<67: return .diskFull
        case 67..<70: return .diskBack
        case 70..<72: return .poisonNext
        case 72: return .crash
        case 73: return .restart
        case 74..<77: return .stall
        default: return .steady(code % 4 + 1)
        }
    }

    static func settings(_ mode: BufferSettings.Mode, _ onFull: BufferSettings.OnFull) -> DeliveryStateMachine.Settings {
        var s = DeliveryStateMachine.Settings(mode: mode, onFull: onFull, window: 5)
        s.memoryLimit = 8
        s.commitRows = 10
        s.readaheadLimit = 7
        s.saveAfter = 1_000
        s.ackTimeout = 5_000
        s.heldLimit = 1_000_000  // memory drops are tested in the table tests
        return s
    }

    static func play(_ codes: [Int], settings: DeliveryStateMachine.Settings, maxEvents: Int, trace: Bool = false) -> DeliverySimulation {
        var sim = DeliverySimulation(settings: settings, maxEvents: maxEvents)
        if trace { sim.trace = [] }
        sim.connect()
        for code in codes {
            if trace { sim.trace!.append("op \(op(code))") }
            switch op(code) {
            case .emit(let n): sim.emit(n)
            case .acknowledge(let n): sim.acknowledge(n)
            case .steady(let n):
                sim.emit(n)
                sim.advance(3)
                sim.acknowledge(n)
            case .advance(let ms): sim.advance(ms)
            case .brokerDown(let reached):
                sim.brokerUp = false
                sim.drop(reached: reached)
            case .brokerUp:
                sim.brokerUp = true
                sim.connect()
            case .diskFull: sim.storage.diskFull = true
            case .diskBack: sim.storage.diskFull = false
            case .poisonNext: sim.poison.insert(sim.nextSeq)
            case .crash: sim.crash(); sim.connect()
            case .restart:
                let disk = sim.storage.diskFull
                sim.storage.diskFull = false  // a clean stop that cannot save is tested on its own
                sim.restartCleanly()
                sim.storage.diskFull = disk
                sim.connect()
            case .stall: sim.advance(6_000)
            }
            #expect(sim.machine.queuedCount <= settings.memoryLimit)
        }
        sim.settle()
        return sim
    }

    static func checkPromises(_ sim: DeliverySimulation, maxEvents: Int) {
        let received = Set(sim.received)
        let dead = Set(sim.storage.deadLetter.keys)
        var lost: [UInt64] = []
        for seq in sim.emitted where !received.contains(seq) && !dead.contains(seq) && !sim.storage.droppedSeqs.contains(seq) {
            if !sim.unsavedAtCrash.contains(seq) { lost.append(seq) }
        }
        #expect(lost.isEmpty, "lost \(lost.prefix(10)) of \(sim.emitted.count)")
        var copies: [UInt64: Int] = [:]
        for seq in sim.received { copies[seq, default: 0] += 1 }
        let extra = copies.filter { $0.value > 1 + (sim.inFlightAtLoss[$0.key] ?? 0) }
        #expect(extra.isEmpty, "delivered more than once without a loss in flight: \(extra.keys.sorted().prefix(10))")
        var seen = Set<UInt64>()
        let firsts = sim.received.filter { seen.insert($0).inserted && !sim.refused.contains($0) }
        #expect(firsts == firsts.sorted(), "out of order: \(firsts.prefix(40))")
        #expect(sim.storage.peakRows <= maxEvents)
        #expect(sim.lostAtStop == 0)
        #expect(sim.storage.rows.isEmpty)
    }

    @Test(arguments: [BufferSettings.Mode.offline, .always])
    func randomInterleavingsKeepEveryPromise(mode: BufferSettings.Mode) async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...99).array(of: 1...400), Gen.bool) { codes, oldest in
            let sim = Self.play(codes, settings: Self.settings(mode, oldest ? .dropOldest : .dropNewest), maxEvents: 1_000_000)
            Self.checkPromises(sim, maxEvents: 1_000_000)
        }
    }

    @Test(arguments: [BufferSettings.OnFull.dropOldest, .dropNewest])
    func aSmallBufferDropsOnlyWhatOnFullSaysAndCountsIt(onFull: BufferSettings.OnFull) async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...99).array(of: 1...400)) { codes in
            let sim = Self.play(codes, settings: Self.settings(.offline, onFull), maxEvents: 20)
            Self.checkPromises(sim, maxEvents: 20)
            #expect(sim.machine.counters.dropped >= 0)
        }
    }

    /// With a history: every event whose PUBACK the gateway saw is written to it (but those whose
    /// write was still in memory at a kill -9), and nothing else.
    @Test(arguments: [BufferSettings.Mode.offline, .always])
    func theHistoryKeepsEveryAcknowledgedEvent(mode: BufferSettings.Mode) async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...99).array(of: 1...400)) { codes in
            var settings = Self.settings(mode, .dropOldest)
            settings.keepHistory = true
            var sim = Self.play(codes, settings: settings, maxEvents: 1_000_000)
            sim.advance(1_000)  // the last group commit
            Self.checkPromises(sim, maxEvents: 1_000_000)
            let kept = Set(sim.storage.history.keys)
            #expect(kept.isSubset(of: sim.acknowledged), "kept but never acknowledged: \(kept.subtracting(sim.acknowledged).sorted().prefix(10))")
            let missing = sim.acknowledged.subtracting(kept).subtracting(sim.unkeptAtCrash)
            #expect(missing.isEmpty, "acknowledged but not kept: \(missing.sorted().prefix(10))")
            #expect(sim.machine.counters.historySkipped == 0)
        }
    }

    /// After a short outage and its drain, mode offline sends new events from memory again:
    /// nothing more is written to the disk while PUBACKs keep up (the window of 5 per tick is
    /// more than the 1-4 events arriving per tick).
    @Test func backToMemoryAfterAnOutage() async {
        await propertyCheck(count: 100, input: Gen.int(in: 1...400), Gen.int(in: 1...4)) { outageEvents, perTick in
            var sim = DeliverySimulation(settings: Self.settings(.offline, .dropOldest))
            sim.connect()
            for _ in 0..<20 { sim.emit(perTick); sim.advance(5); sim.acknowledge(perTick) }
            sim.brokerUp = false
            sim.drop()
            sim.emit(outageEvents)
            sim.advance(2_000)
            sim.brokerUp = true
            sim.connect()
            // Events keep coming at a steady rate while the backlog drains.
            var ticks = 0
            while (sim.storage.rows.count > 0 || sim.machine.pendingCount > 0), ticks < 10_000 {
                sim.emit(perTick)
                sim.advance(5)
                sim.acknowledge(sim.onTheWire.count)
                ticks += 1
            }
            #expect(sim.storage.rows.isEmpty, "the buffer never emptied")
            let savedAfterDrain = sim.machine.counters.saved
            for _ in 0..<200 { sim.emit(perTick); sim.advance(5); sim.acknowledge(sim.onTheWire.count) }
            #expect(sim.machine.counters.saved == savedAfterDrain, "events still go through the disk")
            #expect(sim.storage.rows.isEmpty)
            sim.settle()
            Self.checkPromises(sim, maxEvents: 1_000_000)
        }
    }
}
