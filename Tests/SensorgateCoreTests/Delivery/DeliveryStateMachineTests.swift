import Testing
import SensorgateCore

/// Every transition of the delivery policy, one at a time, with no broker and no disk.
@Suite struct DeliveryStateMachineTests {
    typealias Machine = DeliveryStateMachine
    static func e(_ seq: UInt64) -> OutboundEvent { DeliverySimulation.event(seq) }
    static func events(_ seqs: ClosedRange<UInt64>) -> [OutboundEvent] { seqs.map(e) }

    func machine(_ mode: BufferSettings.Mode = .offline, window: Int = 100, stored: Int = 0, newest: UInt64? = nil,
                 configure: (inout Machine.Settings) -> Void = { _ in }) -> Machine {
        var settings = Machine.Settings(mode: mode, window: window)
        configure(&settings)
        return Machine(settings: settings, storedCount: stored, storedNewest: newest)
    }

    @Test func connectedOfflineEventsGoStraightToTheBrokerWithoutTouchingTheDisk() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...3), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...3)))
        m.acknowledged(seq: 1, reason: 0, at: 1)
        m.acknowledged(seq: 2, reason: 0, at: 1)
        m.acknowledged(seq: 3, reason: 0, at: 1)
        #expect(m.nextAction(at: 1) == .idle(until: nil))
        #expect(m.counters.saved == 0)
    }

    @Test func disconnectedEventsAreGroupCommittedAfterTheCommitDelay() {
        var m = machine()
        m.eventsArrived(Self.events(1...2), at: 0)
        #expect(m.nextAction(at: 10) == .idle(until: 50))
        #expect(m.nextAction(at: 50) == .commit(.init(append: Self.events(1...2), delete: [])))
        m.committed(.init(count: 2, newest: 2), at: 50)
        #expect(m.nextAction(at: 60) == .idle(until: nil))
        #expect(m.storedCount == 2)
    }

    @Test func aFullGroupCommitsAtOnce() {
        var m = machine { $0.commitRows = 3 }
        m.eventsArrived(Self.events(1...3), at: 0)
        #expect(m.nextAction(at: 0) == .commit(.init(append: Self.events(1...3), delete: [])))
    }

    @Test func storedEventsGoFirstAndNewerOnesWaitBehindThem() {
        var m = machine(stored: 2, newest: 2)
        m.connected(at: 0)
        m.eventsArrived([Self.e(3)], at: 0)  // a backlog waits: this one goes to the disk too
        #expect(m.nextAction(at: 0) == .read(after: 0, limit: 2_000))
        m.rowsRead(Self.events(1...2), limit: 2_000)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        // The stored rows are all out: the pending event is next in order, published at once.
        #expect(m.nextAction(at: 0) == .publish([Self.e(3)]))
        m.eventsArrived([Self.e(4)], at: 1)
        #expect(m.nextAction(at: 1) == .publish([Self.e(4)]))  // back to memory
    }

    @Test func acknowledgedRowsAreDeletedInTheNextCommitAndTheBufferEmpties() {
        var m = machine(stored: 2, newest: 2)
        m.connected(at: 0)
        #expect(m.nextAction(at: 0) == .read(after: 0, limit: 2_000))
        m.rowsRead(Self.events(1...2), limit: 2_000)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        m.acknowledged(seq: 1, reason: 0, at: 5)
        m.acknowledged(seq: 2, reason: 0, at: 5)
        #expect(m.nextAction(at: 5) == .idle(until: 55))
        #expect(m.nextAction(at: 55) == .commit(.init(append: [], delete: [1, 2])))
        m.committed(.init(count: 0, newest: nil), at: 55)
        #expect(m.storedCount == 0)
        m.eventsArrived([Self.e(3)], at: 56)
        #expect(m.nextAction(at: 56) == .publish([Self.e(3)]))
    }

    @Test func aConnectionLossSendsTheUnacknowledgedToTheDiskInOrder() {
        var m = machine(window: 2)
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...4), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        m.acknowledged(seq: 1, reason: 0, at: 1)
        m.connectionLost(at: 2)
        #expect(m.nextAction(at: 2) == .commit(.init(append: Self.events(2...4), delete: [])))
    }

    @Test func aRefusedEventIsRetriedThenDeadLettered() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        #expect(m.nextAction(at: 0) == .publish([Self.e(1)]))
        m.acknowledged(seq: 1, reason: 0x87, at: 1)
        #expect(m.nextAction(at: 1) == .publish([Self.e(1)]))  // retried
        m.acknowledged(seq: 1, reason: 0x87, at: 2)
        #expect(m.nextAction(at: 2) == .publish([Self.e(1)]))
        m.acknowledged(seq: 1, reason: 0x87, at: 3)
        #expect(m.nextAction(at: 3) == .deadLetter(Self.e(1), reason: 0x87))
        m.deadLettered(seq: 1, ok: true, at: 3)
        #expect(m.counters.deadLettered == 1)
        #expect(m.nextAction(at: 3) == .idle(until: nil))  // nothing left to write: it never reached the disk
    }

    @Test func modeAlwaysCommitsBeforePublishingAndReadsNothingBack() {
        var m = machine(.always)
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...2), at: 0)
        #expect(m.nextAction(at: 0) == .commit(.init(append: Self.events(1...2), delete: [], nextSeq: 3)))
        m.committed(.init(count: 2, newest: 2), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        m.acknowledged(seq: 1, reason: 0, at: 1)
        m.acknowledged(seq: 2, reason: 0, at: 1)
        #expect(m.nextAction(at: 51) == .commit(.init(append: [], delete: [1, 2])))
    }

    @Test func pubacksThatStopComingMeanAStalledLink() {
        var m = machine { $0.ackTimeout = 5_000; $0.saveAfter = 100_000 }
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        #expect(m.nextAction(at: 0) == .publish([Self.e(1)]))
        #expect(m.nextAction(at: 4_999) == .idle(until: 5_000))
        guard case .disconnect = m.nextAction(at: 5_000) else { Issue.record("no stall detected"); return }
        #expect(m.counters.stalls == 1)
    }

    @Test func eventsUnacknowledgedForSaveAfterAreWrittenAndDeletedWhenAcknowledged() {
        var m = machine { $0.saveAfter = 1_000 }
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        #expect(m.nextAction(at: 0) == .publish([Self.e(1)]))
        #expect(m.unsavedSeqs == [1])
        #expect(m.nextAction(at: 999) == .idle(until: 1_000))
        #expect(m.nextAction(at: 1_000) == .idle(until: 1_050))  // saved: a copy waits for the group commit
        #expect(m.nextAction(at: 1_050) == .commit(.init(append: [Self.e(1)], delete: [])))
        m.committed(.init(count: 1, newest: 1), at: 1_050)
        #expect(m.unsavedSeqs.isEmpty)
        m.acknowledged(seq: 1, reason: 0, at: 1_100)
        #expect(m.nextAction(at: 1_150) == .commit(.init(append: [], delete: [1])))
    }

    @Test func acknowledgedBeforeItsCopyWasWrittenIsNeverWritten() {
        var m = machine { $0.saveAfter = 1_000 }
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        _ = m.nextAction(at: 0)
        _ = m.nextAction(at: 1_000)
        m.acknowledged(seq: 1, reason: 0, at: 1_010)
        #expect(m.nextAction(at: 1_050) == .idle(until: nil))
    }

    @Test func aFailedCommitIsRetriedInSmallBatchesAndThePendingAreStillPublished() {
        var m = machine { $0.retryBatch = 2 }
        m.eventsArrived(Self.events(1...5), at: 0)
        #expect(m.nextAction(at: 50) == .commit(.init(append: Self.events(1...5), delete: [])))
        m.commitFailed(at: 50)
        #expect(m.nextAction(at: 60) == .idle(until: 1_050))
        m.connected(at: 100)  // the broker is there even if the disk is not
        #expect(m.nextAction(at: 100) == .publish(Self.events(1...5)))
        m.acknowledged(seq: 1, reason: 0, at: 101)
        m.acknowledged(seq: 2, reason: 0, at: 101)
        // Retried with at most two rows, and never the acknowledged ones.
        #expect(m.nextAction(at: 1_050) == .commit(.init(append: Self.events(3...4), delete: [])))
        m.committed(.init(count: 2, newest: 4), at: 1_050)
        #expect(m.nextAction(at: 1_051) == .commit(.init(append: [Self.e(5)], delete: [])))
    }

    @Test func whileTheDiskFailsMemoryHoldsAtMostHeldLimitAndDropsAreCounted() {
        var m = machine { $0.heldLimit = 10; $0.onFull = .dropOldest }
        m.eventsArrived(Self.events(1...4), at: 0)
        _ = m.nextAction(at: 50)
        m.commitFailed(at: 50)
        m.eventsArrived(Self.events(5...14), at: 60)
        #expect(m.counters.dropped == 4)
        #expect(m.unsavedSeqs == Set(5...14))
        #expect(m.nextAction(at: 1_050) == .commit(.init(append: Self.events(5...14), delete: [], droppedInMemory: 4)))
    }

    @Test func aCleanStopWaitsForPubacksThenFinishes() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        _ = m.nextAction(at: 0)
        m.stop(at: 10)
        #expect(m.nextAction(at: 10) == .idle(until: 2_010))  // no save-after while stopping: it saves at the end
        m.acknowledged(seq: 1, reason: 0, at: 20)
        #expect(m.nextAction(at: 20) == .finish(lost: 0))
    }

    @Test func aCleanStopSavesWhatWasNotAcknowledged() {
        var m = machine()
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        _ = m.nextAction(at: 0)
        m.stop(at: 10)
        #expect(m.nextAction(at: 2_010) == .commit(.init(append: [Self.e(1)], delete: [])))
        m.committed(.init(count: 1, newest: 1), at: 2_010)
        #expect(m.nextAction(at: 2_010) == .finish(lost: 0))
    }

    @Test func aCleanStopOnAFullDiskCountsWhatItLoses() {
        var m = machine()
        m.eventsArrived(Self.events(1...3), at: 0)
        m.stop(at: 0)
        #expect(m.nextAction(at: 0) == .commit(.init(append: Self.events(1...3), delete: [])))
        m.commitFailed(at: 0)
        #expect(m.nextAction(at: 500) == .idle(until: 1_000))
        _ = m.nextAction(at: 1_000)
        m.commitFailed(at: 1_000)
        #expect(m.nextAction(at: 7_500) == .finish(lost: 3))
        #expect(m.counters.dropped == 3)
    }

    @Test func dropOldestRemovesDroppedRowsFromTheReadahead() {
        var m = machine(.always, stored: 0)
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...3), at: 0)
        _ = m.nextAction(at: 0)
        m.committed(.init(count: 1, newest: 3, droppedThrough: 2, dropped: 2), at: 0)
        #expect(m.nextAction(at: 0) == .publish([Self.e(3)]))
        #expect(m.counters.dropped == 2)
    }

    @Test func aRowCommittedBehindTheReadaheadIsReadAgain() {
        // A refused memory event (seq 1) is written by a commit that was due anyway, while newer
        // rows (3, 4) already wait in the read-ahead: the next read must start below it.
        var m = machine(window: 2) { $0.memoryLimit = 1 }
        m.connected(at: 0)
        m.eventsArrived([Self.e(1)], at: 0)
        #expect(m.nextAction(at: 0) == .publish([Self.e(1)]))
        m.eventsArrived(Self.events(2...4), at: 0)  // the queue overflows: 2-4 go to the disk
        #expect(m.nextAction(at: 0) == .publish([Self.e(2)]))  // next in order, a saved copy
        #expect(m.nextAction(at: 50) == .commit(.init(append: Self.events(2...4), delete: [])))
        m.committed(.init(count: 3, newest: 4), at: 50)
        m.acknowledged(seq: 2, reason: 0, at: 55)
        #expect(m.nextAction(at: 55) == .publish([Self.e(3)]))
        m.acknowledged(seq: 1, reason: 0x87, at: 105)
        #expect(m.nextAction(at: 105) == .commit(.init(append: [Self.e(1)], delete: [2])))
        m.committed(.init(count: 3, newest: 4), at: 105)
        #expect(m.nextAction(at: 105) == .read(after: 0, limit: 2_000))
        m.rowsRead([Self.e(1), Self.e(3), Self.e(4)], limit: 2_000)
        #expect(m.nextAction(at: 105) == .publish([Self.e(1)]))
        m.acknowledged(seq: 3, reason: 0, at: 106)
        #expect(m.nextAction(at: 106) == .publish([Self.e(4)]))  // 3 was acknowledged: skipped
    }

    @Test func anEventBackFromALostConnectionGoesBeforeRowsStoredMeanwhile() {
        // 1-2 are on the wire, 3-5 overflow the queue and are stored; the connection drops while
        // the disk is full, so 1-2 stay in memory: they still go out before 3-5.
        var m = machine(window: 2) { $0.memoryLimit = 2 }
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...2), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...2)))
        m.eventsArrived(Self.events(3...5), at: 1)
        #expect(m.nextAction(at: 51) == .commit(.init(append: Self.events(3...5), delete: [])))
        m.committed(.init(count: 3, newest: 5), at: 51)
        m.connectionLost(at: 60)
        #expect(m.nextAction(at: 60) == .commit(.init(append: Self.events(1...2), delete: [])))
        m.commitFailed(at: 60)
        m.connected(at: 70)
        #expect(m.nextAction(at: 70) == .read(after: 0, limit: 2_000))
        m.rowsRead(Self.events(3...5), limit: 2_000)
        #expect(m.nextAction(at: 70) == .publish(Self.events(1...2)))
    }

    @Test func underPressureWhenTheQueueIsHalfFull() {
        var m = machine(window: 1) { $0.memoryLimit = 4 }
        m.connected(at: 0)
        m.eventsArrived(Self.events(1...2), at: 0)
        _ = m.nextAction(at: 0)
        #expect(!m.underPressure)
        m.eventsArrived(Self.events(3...4), at: 0)
        #expect(m.underPressure)
    }

    /// Memory room is what arrivals may take without sending the queue to disk; once anything
    /// goes to disk (offline, a flush after saveAfter) arrivals go there too, without limit.
    @Test func memoryRoomIsWhatTheQueueStillHolds() {
        var m = machine(window: 1) { $0.memoryLimit = 4; $0.saveAfter = 1_000 }
        #expect(m.memoryRoom == nil, "offline: everything goes to disk")
        m.connected(at: 0)
        #expect(m.memoryRoom == 4)
        m.eventsArrived(Self.events(1...3), at: 0)
        #expect(m.nextAction(at: 0) == .publish(Self.events(1...1)))
        #expect(m.memoryRoom == 2)
        m.eventsArrived(Self.events(4...5), at: 0)
        #expect(m.memoryRoom == 0)
        #expect(m.storedCount == 0 && m.pendingCount == 0, "taking no more than the room keeps the queue in memory")
        // The queue waited saveAfter: it goes to disk (with the unacknowledged 1), and arrivals
        // may fill memory again behind it (they go out after the stored rows).
        guard case .commit(let commit) = m.nextAction(at: 1_000) else { Issue.record("expected a commit"); return }
        #expect(commit.append.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(m.memoryRoom == 4)
    }

    @Test func noMemoryRoomInModeAlways() {
        var m = machine(.always, window: 1)
        m.connected(at: 0)
        #expect(m.memoryRoom == nil)
    }
}
