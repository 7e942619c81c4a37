// A broker and a disk in memory, driven by DeliveryStateMachine the way MQTTForwarder drives the
// real ones: every action carried out at once and its result reported back. The property tests
// run random interleavings through it and check SPEC.md's delivery promises.

import SensorgateCore

/// SQLite's `buffer.db` as the machine sees it: rows by seq, `on_full`, a disk that can be full.
struct FakeStorage {
    var rows: [UInt64: OutboundEvent] = [:]
    var maxEvents: Int
    var onFull: BufferSettings.OnFull
    var diskFull = false
    var droppedSeqs: Set<UInt64> = []
    var deadLetter: [UInt64: Int32] = [:]
    var nextSeq: UInt64? = nil
    var peakRows = 0
    /// The history table: how often each seq was written to it.
    var history: [UInt64: Int] = [:]

    var newest: UInt64? { rows.keys.max() }

    mutating func commit(_ c: DeliveryStateMachine.Commit) -> DeliveryStateMachine.CommitResult? {
        if diskFull { return nil }
        for e in c.history { history[e.seq, default: 0] += 1 }
        for seq in c.delete { rows[seq] = nil }
        var droppedNew: [UInt64] = []
        for e in c.append {
            if rows[e.seq] != nil || deadLetter[e.seq] != nil { continue }
            if onFull == .dropNewest, rows.count >= maxEvents {
                droppedNew.append(e.seq)
                droppedSeqs.insert(e.seq)
                continue
            }
            rows[e.seq] = e
        }
        var through: UInt64? = nil
        var droppedOld = 0
        if onFull == .dropOldest, rows.count > maxEvents {
            for seq in rows.keys.sorted().prefix(rows.count - maxEvents) {
                rows[seq] = nil
                droppedSeqs.insert(seq)
                through = seq
                droppedOld += 1
            }
        }
        if let n = c.nextSeq { nextSeq = n }
        peakRows = max(peakRows, rows.count)
        return .init(count: rows.count, newest: newest, droppedThrough: through, droppedNew: droppedNew,
                     dropped: droppedNew.count + droppedOld)
    }

    func read(after seq: UInt64, limit: Int) -> [OutboundEvent] {
        rows.keys.filter { $0 > seq }.sorted().prefix(limit).map { rows[$0]! }
    }
}

struct DeliverySimulation {
    var settings: DeliveryStateMachine.Settings
    var machine: DeliveryStateMachine
    var storage: FakeStorage
    var now: Int64 = 0
    var brokerUp = true
    /// Seqs the broker refuses (an ACL on their topic): PUBACK reason 0x87.
    var poison: Set<UInt64> = []
    /// Every copy the broker accepted, in arrival order.
    var received: [UInt64] = []
    /// Published on the current connection, not yet answered, in publish order.
    var onTheWire: [UInt64] = []
    var nextSeq: UInt64 = 1
    var emitted: [UInt64] = []
    /// Events only in memory when the gateway was killed: the exposure SPEC allows in mode offline.
    var unsavedAtCrash: Set<UInt64> = []
    /// Acknowledged events whose history write was still in memory at a kill -9.
    var unkeptAtCrash: Set<UInt64> = []
    /// Every seq whose PUBACK (success) reached the machine.
    var acknowledged: Set<UInt64> = []
    /// Events refused at least once (they may arrive out of order, after their retry).
    var refused: Set<UInt64> = []
    /// How often each seq was on the wire when its connection ended, or acknowledged with its
    /// row not yet deleted at a kill -9: each allows one more copy at the broker.
    var inFlightAtLoss: [UInt64: Int] = [:]
    var finished = false
    var lostAtStop = 0
    /// Set to collect a readable trace of actions and inputs (debugging a shrunk failure).
    var trace: [String]? = nil

    init(settings: DeliveryStateMachine.Settings, maxEvents: Int = 1_000_000) {
        self.settings = settings
        storage = FakeStorage(maxEvents: maxEvents, onFull: settings.onFull)
        machine = DeliveryStateMachine(settings: settings, storedCount: 0, storedNewest: nil)
    }

    static func event(_ seq: UInt64) -> OutboundEvent {
        OutboundEvent(seq: seq, topic: "sensorgate/gw/TemperatureReading/t", payload: Array("{\"seq\":\(seq)}".utf8))
    }

    mutating func emit(_ n: Int) {
        var batch: [OutboundEvent] = []
        for _ in 0..<n {
            batch.append(Self.event(nextSeq))
            emitted.append(nextSeq)
            nextSeq += 1
        }
        machine.eventsArrived(batch, at: now)
        run()
    }

    /// Carries out actions until the machine is idle (or finished).
    mutating func run() {
        for _ in 0..<1_000_000 {
            let action = machine.nextAction(at: now)
            switch action {
            case .idle: return
            case .finish(let lost):
                finished = true
                lostAtStop += lost
                return
            default: perform(action)
            }
        }
        preconditionFailure("the machine did not settle")
    }

    mutating func perform(_ action: DeliveryStateMachine.Action) {
        if trace != nil {
            switch action {
            case .publish(let events): trace!.append("t\(now) publish \(events.map(\.seq))")
            case .commit(let c): trace!.append("t\(now) commit +\(c.append.map(\.seq)) -\(c.delete)\(storage.diskFull ? " FAILS" : "")")
            case .read(let after, _): trace!.append("t\(now) read after \(after)")
            default: trace!.append("t\(now) \(action)")
            }
        }
        switch action {
        case .publish(let events):
            precondition(machine.connected, "published while not connected")
            for e in events { onTheWire.append(e.seq) }
        case .commit(let c):
            if let result = storage.commit(c) { machine.committed(result, at: now) } else { machine.commitFailed(at: now) }
        case .read(let after, let limit):
            machine.rowsRead(storage.read(after: after, limit: limit), limit: limit)
        case .deadLetter(let e, let reason):
            if storage.diskFull {
                machine.deadLettered(seq: e.seq, ok: false, at: now)
            } else {
                storage.rows[e.seq] = nil
                storage.deadLetter[e.seq] = reason
                machine.deadLettered(seq: e.seq, ok: true, at: now)
            }
        case .disconnect:
            drop()
        case .finish, .idle:
            break
        }
    }

    /// The broker answers the `count` oldest messages on the wire.
    mutating func acknowledge(_ count: Int) {
        let n = min(count, onTheWire.count)
        let answered = onTheWire.prefix(n)
        onTheWire.removeFirst(n)
        for seq in answered {
            if poison.contains(seq) {
                refused.insert(seq)
                machine.acknowledged(seq: seq, reason: 0x87, at: now)
            } else {
                received.append(seq)
                acknowledged.insert(seq)
                machine.acknowledged(seq: seq, reason: 0, at: now)
            }
        }
        run()
    }

    mutating func connect() {
        guard brokerUp, !machine.connected, !finished else { return }
        machine.connected(at: now)
        run()
    }

    /// The connection drops. The first `reached` messages on the wire got to the broker (their
    /// PUBACKs were lost); the rest did not.
    mutating func drop(reached: Int = 0) {
        guard machine.connected else { return }
        for (i, seq) in onTheWire.enumerated() {
            inFlightAtLoss[seq, default: 0] += 1
            if i < reached { if poison.contains(seq) { refused.insert(seq) } else { received.append(seq) } }
        }
        onTheWire.removeAll()
        machine.connectionLost(at: now)
        run()
    }

    mutating func advance(_ ms: Int64) {
        now += ms
        run()
    }

    /// A clean stop (PUBACKs still arriving for a while), then a new machine over the same disk.
    mutating func restartCleanly() {
        machine.stop(at: now)
        run()
        var rounds = 0
        while !finished, rounds < 1_000 {
            now += 50
            acknowledge(max(1, onTheWire.count / 2))
            rounds += 1
        }
        precondition(finished, "a clean stop did not finish")
        for seq in onTheWire { inFlightAtLoss[seq, default: 0] += 1 }
        onTheWire.removeAll()
        reopen()
    }

    /// kill -9: memory is gone, the disk stays.
    mutating func crash() {
        unsavedAtCrash.formUnion(machine.unsavedSeqs)
        unkeptAtCrash.formUnion(machine.historyNotYetWritten)
        for seq in onTheWire + machine.acknowledgedNotYetDeleted { inFlightAtLoss[seq, default: 0] += 1 }
        onTheWire.removeAll()
        reopen()
    }

    private mutating func reopen() {
        finished = false
        machine = DeliveryStateMachine(settings: settings, storedCount: storage.rows.count, storedNewest: storage.newest)
        if settings.mode == .always, let next = storage.nextSeq, next < nextSeq {
            // Mode always resumes after the last committed event: the numbers above it were never
            // published, and are used again (no gap in seq).
            nextSeq = next
            emitted.removeAll { $0 >= next }
        }
    }

    /// Brings everything home: broker up, disk healthy, PUBACKs flowing until nothing is left.
    mutating func settle() {
        brokerUp = true
        storage.diskFull = false
        poison.removeAll()
        for _ in 0..<10_000 {
            connect()
            advance(60)
            acknowledge(onTheWire.count)
            if storage.rows.isEmpty, machine.unsavedSeqs.isEmpty, onTheWire.isEmpty, machine.pendingCount == 0 { return }
        }
        preconditionFailure("did not settle: \(storage.rows.count) rows, \(machine.unsavedSeqs.count) unsaved")
    }
}
