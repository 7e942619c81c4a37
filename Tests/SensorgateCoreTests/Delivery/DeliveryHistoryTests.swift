import Testing
import SensorgateCore

/// `keepHistory`: acknowledged events reach the history through the group commits, and a disk
/// that cannot be written never holds up delivery for it.
@Suite struct DeliveryHistoryTests {
    typealias Machine = DeliveryStateMachine
    static func e(_ seq: UInt64) -> OutboundEvent { DeliverySimulation.event(seq) }
    static func events(_ seqs: ClosedRange<UInt64>) -> [OutboundEvent] { seqs.map(e) }

    func machine(stored: Int = 0, newest: UInt64? = nil, configure: (inout Machine.Settings) -> Void = { _ in }) -> Machine {
        var settings = Machine.Settings(mode: .offline, window: 100)
        settings.keepHistory = true
        configure(&settings)
        return Machine(settings: settings, storedCount: stored, storedNewest: newest)
    }

    @Test func eventsFromMemoryAreKeptByTheNextGroupCommit() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...3), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...3)))
        for seq: UInt64 in [1, 2, 3] { m.acknowledged(seq: seq, reason: 0, at: 5) }
        #expect(m.nextAction(at: 5) == .idle(until: 55))
        #expect(m.nextAction(at: 55) == .commit(.init(append: [], delete: [], history: Self.events(1...3))))
        m.committed(.init(count: 0, newest: nil), at: 55)
        #expect(m.counters.historyKept == 3)
        #expect(m.counters.saved == 0)  // the buffer itself was not written
        #expect(m.nextAction(at: 60) == .idle(until: nil))
    }

    @Test func aStoredRowMovesToTheHistoryInTheCommitThatDeletesIt() {
        var m = machine(stored: 2, newest: 2)
        m.connected(at: 0)
        #expect(m.nextAction(at: 0) == .read(after: 0, limit: 2_000))
        m.rowsRead(Self.events(1...2), limit: 2_000)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        m.acknowledged(seq: 1, reason: 0, at: 5)
        m.acknowledged(seq: 2, reason: 0, at: 5)
        #expect(m.nextAction(at: 55) == .commit(.init(append: [], delete: [1, 2], history: Self.events(1...2))))
    }

    @Test func refusedAndDroppedEventsAreNotKept() {
        var m = machine { $0.refusalLimit = 1 }
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...2), at: 0)
        _ = m.nextAction(at: 0)
        m.acknowledged(seq: 1, reason: 0x87, at: 1)
        m.acknowledged(seq: 2, reason: 0, at: 1)
        #expect(m.nextAction(at: 1) == .deadLetter(Self.e(1), reason: 0x87))
        m.deadLettered(seq: 1, ok: true, at: 1)
        #expect(m.nextAction(at: 60) == .commit(.init(append: [], delete: [], history: [Self.e(2)])))
    }

    @Test func aFailingDiskKeepsOnlyTheNewestHeldAndDeliveryGoesOn() {
        var m = machine { $0.historyHeldLimit = 5 }
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...8), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...8)))
        for seq: UInt64 in 1...8 { m.acknowledged(seq: seq, reason: 0, at: 1) }
        #expect(m.counters.historySkipped == 3)
        guard case .commit(let c) = m.nextAction(at: 60) else { Issue.record("no commit"); return }
        #expect(c.history.map(\.seq) == [4, 5, 6, 7, 8])
        m.commitFailed(at: 60)
        // Delivery is not held up while the history waits for the disk.
        m.eventsArrived(Self.events(9...9), at: 61)
        #expect(m.nextAction(at: 61) == .publish([Self.e(9)]))
        m.acknowledged(seq: 9, reason: 0, at: 62)
        #expect(m.counters.historySkipped == 4)  // 4 is the oldest beyond the limit now
        guard case .commit(let retry) = m.nextAction(at: 1_060) else { Issue.record("no retry"); return }
        #expect(retry.history.map(\.seq) == [5, 6, 7, 8, 9])
    }

    @Test func aCleanStopWritesTheHistoryStillInMemory() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...2), at: 0)
        _ = m.nextAction(at: 0)
        m.acknowledged(seq: 1, reason: 0, at: 1)
        m.acknowledged(seq: 2, reason: 0, at: 1)
        m.stop(at: 2)
        #expect(m.nextAction(at: 2) == .commit(.init(append: [], delete: [], history: Self.events(1...2))))
        m.committed(.init(count: 0, newest: nil), at: 2)
        #expect(m.nextAction(at: 3) == .finish(lost: 0))
    }

    @Test func withoutAHistoryNothingIsKept() {
        var m = machine { $0.keepHistory = false }
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...3), at: 0)
        _ = m.nextAction(at: 0)
        for seq: UInt64 in 1...3 { m.acknowledged(seq: seq, reason: 0, at: 1) }
        #expect(m.nextAction(at: 100) == .idle(until: nil))
    }
}
