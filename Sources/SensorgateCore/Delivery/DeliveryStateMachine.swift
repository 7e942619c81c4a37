// The forwarder's whole policy, with no I/O: which event goes straight to the broker and which
// to SQLite, when rows are committed and read back, what is retried, dead-lettered or saved
// because the link stalled. Inputs say what happened (events arrived, connected, lost, PUBACK,
// rows committed or read); `nextAction(at:)` says what the I/O loop does next. The loop
// (MQTTForwarder) only carries actions out and reports their results, so every promise of
// SPEC.md "Delivery guarantees" is decided, and tested, here. Times are milliseconds on a
// monotonic clock.
//
// Where an event can be:
//   queue      in memory, not yet published (mode offline, connected, nothing older waits on disk)
//   inflight   published on this connection, waiting for its PUBACK
//   pending    waiting for the next group commit to SQLite
//   stored     a row in SQLite (`storedCount`, `storedNewest`), read back in seq order
//   kept       acknowledged, with `keepHistory`: written to the history table by the next group
//              commit (a stored row moves there in the same transaction that deletes it)
// Order: stored rows above `cursor` go out first, then pending ones not yet published, then the
// queue, so no event overtakes an older one still waiting. Every queued event is newer than
// every stored or pending one: when an event must go to the disk, the queue goes with it.

public struct DeliveryStateMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var mode: BufferSettings.Mode
        public var onFull: BufferSettings.OnFull
        /// `max_inflight`: unacknowledged messages on the wire.
        public var window: Int
        /// Events waiting in memory (offline mode) before new ones go to SQLite.
        public var memoryLimit = 2_000
        /// A group commit takes up to this many rows or `commitDelay`, whichever comes first.
        public var commitRows = 2_000
        public var commitDelay: Int64 = 50
        /// Rows read back from SQLite per SELECT.
        public var readaheadLimit = 2_000
        /// Refusals (PUBACK reason >= 0x80) before an event goes to the dead-letter table.
        public var refusalLimit = 3
        /// Mode offline: an event not acknowledged this long is written to SQLite as well, so a
        /// kill -9 during a stalled link costs at most this much.
        public var saveAfter: Int64 = 1_000
        /// In flight and no PUBACK for this long: the link is stalled (half-open TCP), reconnect.
        public var ackTimeout: Int64 = 10_000
        /// Events held in memory while SQLite cannot be written (disk full); beyond, `on_full`.
        public var heldLimit = 20_000
        /// After a failed commit: wait this long, and retry with a small batch, growing again.
        public var retryDelay: Int64 = 1_000
        public var retryBatch = 100
        /// A clean stop waits this long for PUBACKs, then saves what is left.
        public var stopGrace: Int64 = 2_000
        /// A clean stop gives up saving (disk full) after this long, counting what is lost.
        public var stopSaveLimit: Int64 = 5_000
        /// `history:` is on: acknowledged events are written to the history by the group commits.
        public var keepHistory = false
        /// Acknowledged events waiting for the history while SQLite cannot be written; beyond,
        /// the oldest are not kept (counted): history never holds up delivery.
        public var historyHeldLimit = 20_000

        public init(mode: BufferSettings.Mode = .offline, onFull: BufferSettings.OnFull = .dropOldest, window: Int = 100) {
            self.mode = mode
            self.onFull = onFull
            self.window = window
        }
    }

    public struct Commit: Sendable, Equatable {
        /// New rows, in seq order.
        public var append: [OutboundEvent]
        /// Acknowledged rows. The storage appends first, then deletes, in one transaction.
        public var delete: [UInt64]
        /// Mode always: the seq after the last appended event, committed with it.
        public var nextSeq: UInt64?
        /// Events dropped in memory (held while the disk failed) to add to the durable count.
        public var droppedInMemory: Int
        /// Acknowledged events for the history (`keepHistory`), in acknowledgement order.
        public var history: [OutboundEvent]

        public init(append: [OutboundEvent], delete: [UInt64], nextSeq: UInt64? = nil, droppedInMemory: Int = 0,
                    history: [OutboundEvent] = []) {
            self.append = append
            self.delete = delete
            self.nextSeq = nextSeq
            self.droppedInMemory = droppedInMemory
            self.history = history
        }
    }

    /// What a commit did to the stored rows.
    public struct CommitResult: Sendable, Equatable {
        /// Rows stored after the commit, and the highest seq among them (nil when empty).
        public var count: Int
        public var newest: UInt64?
        /// `drop_oldest`: every row up to this seq was dropped to make room.
        public var droppedThrough: UInt64?
        /// `drop_newest`: these appended events were not stored.
        public var droppedNew: [UInt64]
        /// Events dropped by this commit, both ways.
        public var dropped: Int

        public init(count: Int, newest: UInt64?, droppedThrough: UInt64? = nil, droppedNew: [UInt64] = [], dropped: Int = 0) {
            self.count = count
            self.newest = newest
            self.droppedThrough = droppedThrough
            self.droppedNew = droppedNew
            self.dropped = dropped
        }
    }

    public enum Action: Sendable, Equatable {
        /// Publish these, in order; each is in flight until `acknowledged`.
        case publish([OutboundEvent])
        /// One transaction; report `committed` or `commitFailed`.
        case commit(Commit)
        /// Stored rows with seq above `after`, oldest first; report `rowsRead`.
        case read(after: UInt64, limit: Int)
        /// Move the event to the dead-letter table (deleting its row if it has one); report `deadLettered`.
        case deadLetter(OutboundEvent, reason: Int32)
        /// PUBACKs stopped while messages are in flight: drop the connection, report `connectionLost`.
        case disconnect(reason: String)
        /// Stopping is complete: everything acknowledged or saved, except `lost` events that
        /// could not be saved (the disk stayed full).
        case finish(lost: Int)
        /// Nothing to do before an input arrives or this instant.
        case idle(until: Int64?)
    }

    public struct Counters: Sendable, Equatable {
        public var published = 0
        public var acknowledged = 0
        public var refused = 0
        public var deadLettered = 0
        /// Dropped by `on_full`, in SQLite or in memory.
        public var dropped = 0
        public var commits = 0
        public var commitFailures = 0
        public var stalls = 0
        /// Events written to SQLite (appended rows).
        public var saved = 0
        /// Acknowledged events written to the history, and those it could not keep (disk failing).
        public var historyKept = 0
        public var historySkipped = 0
        public init() {}
    }

    struct InFlight: Sendable {
        var event: OutboundEvent
        /// A row exists, or a pending write will make one.
        var saved: Bool
        var sentAt: Int64
    }

    struct Pending: Sendable {
        var event: OutboundEvent
        /// Published on this connection (in flight or acknowledged).
        var published: Bool
        /// Acknowledged or dead-lettered before it was written: skip it.
        var settled = false
    }

    public private(set) var settings: Settings
    public private(set) var counters = Counters()

    // Link
    public private(set) var connected = false
    private var lastAckAt: Int64 = 0
    private var stopDeadline: Int64? = nil
    private var stopStarted: Int64? = nil
    private var finished = false

    // Stored rows, as of the last successful commit.
    public private(set) var storedCount: Int
    public private(set) var storedNewest: UInt64?
    /// Every stored row up to `cursor` was published on this connection (or is skipped).
    private var cursor: UInt64 = 0
    /// Stored rows above `cursor`, read or committed, not yet published; in seq order.
    private var readahead = Ring<OutboundEvent>()
    /// `readahead` holds every stored row above `cursor` that still needs publishing.
    private var readaheadComplete: Bool

    // Memory
    private var queue = Ring<(event: OutboundEvent, at: Int64)>()
    private var pending: [Pending] = []
    /// No pending event below this index still needs publishing (so the window does not scan
    /// the published ones again on every refill).
    private var pendingCursor = 0
    private var unpublishedPending = 0
    private var settledPending = 0
    private var livePending: Int { pending.count - settledPending }
    private var pendingSince: Int64? = nil
    private var deletes: [UInt64] = []
    private var deleteSet: Set<UInt64> = []
    private var commitNow = false
    private var retryAt: Int64? = nil
    private var batchLimit = Int.max
    private var droppedInMemory = 0
    /// Acknowledged events waiting for the next commit to write them to the history.
    private var history: [OutboundEvent] = []
    private var inCommit: (pending: [Pending], deletes: [UInt64], dropped: Int, history: [OutboundEvent])? = nil

    /// The latest time an input or `nextAction` carried.
    private var clock: Int64 = 0

    private var inflight: [UInt64: InFlight] = [:]
    /// In-flight events not yet saved, in publish order (entries may be stale).
    private var unsavedOrder = Ring<UInt64>()
    /// Every in-flight seq in publish order, for the stall check (entries may be stale).
    private var sentOrder = Ring<UInt64>()
    private var refusals: [UInt64: Int] = [:]
    /// Refused too often: to be moved to the dead-letter table, with the broker's last reason and
    /// whether the event has a row (or a pending write) to move.
    private var deadLetters: [(event: OutboundEvent, reason: Int32, saved: Bool)] = []

    /// `storedCount`/`storedNewest`: what SQLite holds at start.
    public init(settings: Settings, storedCount: Int, storedNewest: UInt64?) {
        self.settings = settings
        self.storedCount = storedCount
        self.storedNewest = storedCount == 0 ? nil : storedNewest
        readaheadComplete = storedCount == 0
    }

    // MARK: Reading the state

    /// Events that SQLite does not hold: in the queue, waiting for a commit, or in flight
    /// without a row. A kill -9 now would lose these (SPEC: mode offline's exposure).
    /// Acknowledged events whose rows are deleted by the next commit: a kill -9 now would send
    /// them once more after the restart (at least once, SPEC.md).
    public var acknowledgedNotYetDeleted: [UInt64] { deletes + (inCommit?.deletes ?? []) }

    public var unsavedSeqs: Set<UInt64> {
        var seqs = Set(queue.elements.map(\.event.seq))
        for p in pending where !p.settled { seqs.insert(p.event.seq) }
        if let batch = inCommit { for p in batch.pending where !p.settled { seqs.insert(p.event.seq) } }
        for (seq, f) in inflight where !f.saved { seqs.insert(seq) }
        return seqs
    }
    /// Acknowledged events not yet written to the history: a kill -9 now leaves them out of it.
    public var historyNotYetWritten: [UInt64] { history.map(\.seq) + (inCommit?.history.map(\.seq) ?? []) }
    public var inflightCount: Int { inflight.count }
    /// Live delivery is not keeping up in real time: the window is full, events wait in memory,
    /// or stored ones are still draining. Replays hold back meanwhile.
    public var isBackedUp: Bool {
        connected && (inflight.count >= settings.window || !queue.isEmpty || storedCount > 0 || unpublishedPending > 0)
    }
    public var queuedCount: Int { queue.count }
    public var pendingCount: Int { livePending }
    public var isStopping: Bool { stopDeadline != nil }

    /// The broker is connected but cannot take events as fast as they come: sources that can wait
    /// (simulated sensors) should slow down so the flood stays in memory.
    public var underPressure: Bool {
        connected && (storedCount > 2 * settings.memoryLimit || queue.count >= settings.memoryLimit / 2)
    }

    /// How many arriving events would still be held in memory now; nil when arrivals go to
    /// SQLite anyway (offline, mode always, a backlog not yet published, stopping). The caller
    /// leaves the rest where they are (its inbox, which slows the pipeline): taken beyond this,
    /// an arrival would push the whole memory queue to disk, and a source that outruns the broker
    /// would have every event written, read back and deleted while the broker is up. The queue's
    /// own `saveAfter` still bounds how long anything waits unsaved: the queue is older than
    /// whatever is left waiting, and once it goes to disk arrivals do too.
    public var memoryRoom: Int? {
        guard settings.mode == .offline, connected, stopDeadline == nil, unpublishedPending == 0 else { return nil }
        return max(0, settings.memoryLimit - queue.count)
    }

    /// Every stored row has been published on this connection and nothing older waits in memory.
    private var drainComplete: Bool { readahead.isEmpty && cursor >= (storedNewest ?? 0) }

    // MARK: Inputs

    public mutating func updateSettings(_ new: Settings) {
        let modeChanged = new.mode != settings.mode
        settings = new
        if modeChanged, new.mode == .always {
            // Nothing may be published before it is saved any more.
            for e in queue.removeAll() { insertPending(e.event, published: false) }
            commitNow = true
        }
    }

    /// Events from the pipeline, in seq order.
    public mutating func eventsArrived(_ events: [OutboundEvent], at now: Int64) {
        clock = now
        for event in events {
            // Memory while connected, even behind a backlog still draining (the queue goes out
            // after it): after an outage the disk is written only for what memory cannot hold.
            if settings.mode == .offline, connected, stopDeadline == nil, unpublishedPending == 0,
               queue.count < settings.memoryLimit {
                queue.append((event, now))
            } else {
                if !queue.isEmpty { flushQueue() }
                insertPending(event, published: false)
            }
        }
        enforceHeldLimit()
    }

    public mutating func connected(at now: Int64) {
        clock = now
        connected = true
        lastAckAt = now
        cursor = 0
        _ = readahead.removeAll()
        readaheadComplete = storedNewest == nil
    }

    /// The connection ended (or a publish failed): what was not acknowledged goes to SQLite.
    public mutating func connectionLost(at now: Int64) {
        clock = now
        guard connected else { return }
        connected = false
        let unacknowledged = inflight.values.sorted { $0.event.seq < $1.event.seq }
        inflight.removeAll()
        _ = unsavedOrder.removeAll()
        _ = sentOrder.removeAll()
        for f in unacknowledged {
            if !f.saved {
                insertPending(f.event, published: false)
            } else if let i = pendingIndex(f.event.seq), pending[i].published, !pending[i].settled {
                pending[i].published = false
                unpublishedPending += 1
                pendingCursor = min(pendingCursor, i)
            }
        }
        flushQueue()
        cursor = 0
        _ = readahead.removeAll()
        readaheadComplete = storedNewest == nil
        commitNow = true
    }

    /// A PUBACK (or, for QoS 0, the send). `reason` >= 0x80 is an MQTT 5 refusal.
    public mutating func acknowledged(seq: UInt64, reason: Int32, at now: Int64) {
        clock = now
        guard let f = inflight.removeValue(forKey: seq) else { return }
        lastAckAt = now
        guard reason < 0x80 else {
            refused(f, reason: reason)
            return
        }
        counters.acknowledged += 1
        refusals[seq] = nil
        if settings.keepHistory { keep(f.event) }
        guard f.saved else { return }
        if let i = pendingIndex(seq), !pending[i].settled {
            settle(i)  // acknowledged before it was written: never write it
        } else {
            delete(seq)
        }
    }

    private mutating func refused(_ f: InFlight, reason: Int32) {
        let seq = f.event.seq
        counters.refused += 1
        let tries = (refusals[seq] ?? 0) + 1
        if tries >= settings.refusalLimit {
            refusals[seq] = nil
            deadLetters.append((f.event, reason, f.saved))
            return
        }
        refusals[seq] = tries
        sendAgain(f.event, saved: f.saved)
    }

    /// An event published on this connection that must go out again (refused, or its
    /// dead-letter move failed).
    private mutating func sendAgain(_ event: OutboundEvent, saved: Bool) {
        if let i = pendingIndex(event.seq), !pending[i].settled {
            if pending[i].published {
                pending[i].published = false
                unpublishedPending += 1
                pendingCursor = min(pendingCursor, i)
            }
        } else if saved {
            rewind(below: event.seq)
        } else {
            if !queue.isEmpty { flushQueue() }
            insertPending(event, published: false)
        }
    }

    public mutating func committed(_ result: CommitResult, at now: Int64) {
        clock = now
        guard let batch = inCommit else { return }
        inCommit = nil
        counters.commits += 1
        counters.dropped += result.dropped
        counters.historyKept += batch.history.count
        storedCount = result.count
        storedNewest = result.count == 0 ? nil : result.newest
        retryAt = nil
        if batchLimit != .max { batchLimit = batchLimit >= 10_000 ? .max : batchLimit * 2 }
        let droppedNew = Set(result.droppedNew)
        var appendedUnpublished: [OutboundEvent] = []
        for p in batch.pending where !p.settled {
            if droppedNew.contains(p.event.seq) {
                if p.published, inflight[p.event.seq] != nil { inflight[p.event.seq]?.saved = false }
                continue
            }
            counters.saved += 1
            if !p.published { appendedUnpublished.append(p.event) }
        }
        // Rows of this commit that still need publishing continue the read-ahead when it already
        // holds everything above the cursor: no SELECT for what was just written. A row that
        // would land behind rows already queued for publishing makes the next read start below it.
        for event in appendedUnpublished {
            let tail = readahead.last?.seq ?? cursor
            if event.seq <= tail {
                rewind(below: event.seq)
                break
            }
            guard readaheadComplete, readahead.count < settings.readaheadLimit else {
                readaheadComplete = false
                break
            }
            readahead.append(event)
        }
        if let through = result.droppedThrough {
            cursor = max(cursor, through)
            readahead.removeAll { $0.seq <= through }
        }
        if !batch.deletes.isEmpty {
            let gone = Set(batch.deletes)
            readahead.removeAll { gone.contains($0.seq) }
            for seq in batch.deletes { deleteSet.remove(seq) }
        }
        if storedNewest == nil { readaheadComplete = true; _ = readahead.removeAll() }
        settleCursor()
    }

    public mutating func commitFailed(at now: Int64) {
        clock = now
        guard let batch = inCommit else { return }
        inCommit = nil
        counters.commitFailures += 1
        // Put the batch back in front of what arrived since, in seq order.
        var merged = batch.pending
        for p in pending { merged.append(p) }
        merged.sort { $0.event.seq < $1.event.seq }
        pending = merged.filter { !$0.settled }
        unpublishedPending = pending.filter { !$0.published }.count
        settledPending = 0
        pendingCursor = 0
        deletes = batch.deletes + deletes
        droppedInMemory += batch.dropped
        history = batch.history + history
        enforceHistoryLimit()
        retryAt = now + settings.retryDelay
        batchLimit = settings.retryBatch
        if pendingSince == nil { pendingSince = now }
        enforceHeldLimit()
    }

    /// Rows from a `read` action.
    public mutating func rowsRead(_ rows: [OutboundEvent], limit: Int) {
        if rows.count < limit { readaheadComplete = true }
        for row in rows where row.seq > (readahead.last?.seq ?? cursor) { readahead.append(row) }
        settleCursor()
    }

    /// The dead-letter move is done (or failed: then it is retried like a refusal).
    public mutating func deadLettered(seq: UInt64, ok: Bool, at now: Int64) {
        clock = now
        guard let i = deadLetters.firstIndex(where: { $0.event.seq == seq }) else { return }
        let (event, _, saved) = deadLetters.remove(at: i)
        if ok {
            counters.deadLettered += 1
            if let p = pendingIndex(seq), !pending[p].settled { settle(p) }
            readahead.removeAll { $0.seq == seq }
        } else {
            refusals[seq] = settings.refusalLimit - 1
            sendAgain(event, saved: saved)
        }
    }

    /// A clean stop: publish what is in memory, wait up to `stopGrace` for PUBACKs, then save
    /// everything else and finish.
    public mutating func stop(at now: Int64) {
        clock = now
        guard stopDeadline == nil else { return }
        stopStarted = now
        stopDeadline = now + settings.stopGrace
        commitNow = true
    }

    // MARK: What to do

    public mutating func nextAction(at now: Int64) -> Action {
        clock = now
        if finished { return .idle(until: nil) }
        if let first = deadLetters.first { return .deadLetter(first.event, reason: first.reason) }
        if settings.mode == .offline, connected, stopDeadline == nil { saveWhatWaitsTooLong(at: now) }
        if let stopping = stopDeadline, let action = stopAction(at: now, deadline: stopping) { return action }
        if let commit = commitIfDue(at: now) { return .commit(commit) }
        if connected {
            if let oldest = oldestInFlight(), now - max(lastAckAt, oldest) >= settings.ackTimeout {
                counters.stalls += 1
                return .disconnect(reason: "no PUBACK for \(DurationText.format(.milliseconds(settings.ackTimeout))) with \(inflight.count) message(s) in flight (a stalled link?)")
            }
            if let action = fillWindow(at: now) { return action }
        }
        return .idle(until: wakeTime(at: now))
    }

    private mutating func stopAction(at now: Int64, deadline: Int64) -> Action? {
        let waiting = connected && !inflight.isEmpty && now < deadline
        let publishable = connected && now < deadline && (!queue.isEmpty || (settings.mode == .offline && unpublishedPending > 0))
        if waiting || publishable { return nil }  // keep publishing and collecting PUBACKs
        // Save whatever is still only in memory.
        if !inflight.isEmpty {
            for f in inflight.values.sorted(by: { $0.event.seq < $1.event.seq }) where !f.saved {
                insertPending(f.event, published: false)
            }
            inflight.removeAll()
            _ = unsavedOrder.removeAll()
            _ = sentOrder.removeAll()
        }
        flushQueue()
        if livePending > 0 || !deletes.isEmpty || droppedInMemory > 0 || !history.isEmpty {
            let givingUp = now - (stopStarted ?? now) >= settings.stopGrace + settings.stopSaveLimit
            if !givingUp {
                if let retry = retryAt, now < retry { return .idle(until: retry) }
                if let commit = buildCommit(at: now, ignoreLimit: true) { return .commit(commit) }
            }
            // The disk stayed full: what could not be saved is lost, and said so.
            let lost = pending.filter { !$0.settled }.count
            counters.dropped += lost
            counters.historySkipped += history.count
            history.removeAll()
            pending.removeAll()
            unpublishedPending = 0
            settledPending = 0
            pendingCursor = 0
            finished = true
            return .finish(lost: lost)
        }
        finished = true
        return .finish(lost: 0)
    }

    private mutating func commitIfDue(at now: Int64) -> Commit? {
        guard livePending > 0 || !deletes.isEmpty || droppedInMemory > 0 || !history.isEmpty else { return nil }
        if let retry = retryAt, now < retry { return nil }
        let rows = livePending + deletes.count + history.count
        // Recovering from a failed commit (small, growing batches): the rest follows at once.
        let urgent = commitNow || stopDeadline != nil || retryAt != nil || batchLimit != .max
            || (settings.mode == .always && connected && unpublishedPending > 0)
            || rows >= settings.commitRows || now - (pendingSince ?? now) >= settings.commitDelay
        guard urgent else { return nil }
        return buildCommit(at: now, ignoreLimit: false)
    }

    private mutating func buildCommit(at now: Int64, ignoreLimit: Bool) -> Commit? {
        let live = pending.filter { !$0.settled }
        let take = ignoreLimit ? live.count : min(live.count, batchLimit)
        let batch = Array(live.prefix(take))
        let rest = Array(live.dropFirst(take))
        let keeping = ignoreLimit || batchLimit == .max ? history : Array(history.prefix(batchLimit))
        guard !batch.isEmpty || !deletes.isEmpty || droppedInMemory > 0 || !keeping.isEmpty else {
            pending = rest
            settledPending = 0
            pendingCursor = 0
            return nil
        }
        inCommit = (batch, deletes, droppedInMemory, keeping)
        history.removeFirst(keeping.count)
        pending = rest
        unpublishedPending = rest.filter { !$0.published }.count
        settledPending = 0
        pendingCursor = 0
        let commit = Commit(append: batch.map(\.event), delete: deletes,
                            nextSeq: settings.mode == .always ? batch.last.map { $0.event.seq + 1 } : nil,
                            droppedInMemory: droppedInMemory, history: keeping)
        deletes.removeAll(keepingCapacity: true)
        droppedInMemory = 0
        commitNow = false
        pendingSince = rest.isEmpty && history.isEmpty ? nil : now
        return commit
    }

    private mutating func fillWindow(at now: Int64) -> Action? {
        var room = settings.window - inflight.count
        guard room > 0 else { return nil }
        var batch: [OutboundEvent] = []
        func send(_ event: OutboundEvent, saved: Bool) {
            inflight[event.seq] = InFlight(event: event, saved: saved, sentAt: now)
            sentOrder.append(event.seq)
            if !saved { unsavedOrder.append(event.seq) }
            batch.append(event)
            room -= 1
        }
        // Stored rows and (mode offline) pending events not yet published, merged in seq order:
        // an event that came back from a lost connection while the disk is full is older than
        // rows stored meanwhile.
        let direct = settings.mode == .offline && unpublishedPending > 0
        func nextPending() -> Int? {
            guard direct else { return nil }
            while pendingCursor < pending.count, pending[pendingCursor].published || pending[pendingCursor].settled { pendingCursor += 1 }
            return pendingCursor < pending.count ? pendingCursor : nil
        }
        while room > 0 {
            if let row = readahead.first, inflight[row.seq] != nil || deleteSet.contains(row.seq) {
                _ = readahead.popFirst()
                cursor = max(cursor, row.seq)
                continue
            }
            let candidate = nextPending()
            if let row = readahead.first {
                if let i = candidate, pending[i].event.seq < row.seq {
                    pending[i].published = true
                    unpublishedPending -= 1
                    send(pending[i].event, saved: true)
                } else {
                    _ = readahead.popFirst()
                    cursor = max(cursor, row.seq)
                    send(row, saved: true)
                }
                continue
            }
            settleCursor()
            let unread = (storedNewest ?? 0) > cursor && !readaheadComplete
            if let i = candidate, !unread || pending[i].event.seq <= cursor {
                pending[i].published = true
                unpublishedPending -= 1
                send(pending[i].event, saved: true)
                continue
            }
            if unread {
                if batch.isEmpty, stopDeadline == nil { return .read(after: cursor, limit: settings.readaheadLimit) }
                break
            }
            break
        }
        if !batch.isEmpty { return published(batch) }
        // The memory queue, once nothing older waits.
        guard drainComplete, unpublishedPending == 0 else { return nil }
        while room > 0, let entry = queue.popFirst() { send(entry.event, saved: false) }
        return batch.isEmpty ? nil : published(batch)
    }

    private mutating func published(_ batch: [OutboundEvent]) -> Action {
        counters.published += batch.count
        return .publish(batch)
    }

    /// Mode offline, connected: events waiting or in flight longer than `saveAfter` are written
    /// to SQLite, so a stalled link cannot hold seconds of events in memory only.
    private mutating func saveWhatWaitsTooLong(at now: Int64) {
        if let first = queue.first, now - first.at >= settings.saveAfter { flushQueue() }
        while let seq = unsavedOrder.first {
            guard let f = inflight[seq], !f.saved else { _ = unsavedOrder.popFirst(); continue }
            guard now - f.sentAt >= settings.saveAfter else { break }
            _ = unsavedOrder.popFirst()
            inflight[seq]?.saved = true
            insertPending(f.event, published: true)
        }
    }

    private mutating func oldestInFlight() -> Int64? {
        while let seq = sentOrder.first {
            if let f = inflight[seq] { return f.sentAt }
            _ = sentOrder.popFirst()
        }
        return nil
    }

    private mutating func wakeTime(at now: Int64) -> Int64? {
        var wake: Int64? = nil
        func consider(_ t: Int64?) { if let t, t < (wake ?? .max) { wake = max(t, now) } }
        if livePending > 0 || !deletes.isEmpty || droppedInMemory > 0 || !history.isEmpty {
            consider(retryAt ?? (pendingSince ?? now) + settings.commitDelay)
        }
        if connected {
            if let oldest = oldestInFlight() { consider(max(lastAckAt, oldest) + settings.ackTimeout) }
            if settings.mode == .offline, stopDeadline == nil {
                if let first = queue.first { consider(first.at + settings.saveAfter) }
                if let seq = unsavedOrder.first, let f = inflight[seq] { consider(f.sentAt + settings.saveAfter) }
            }
        }
        if let deadline = stopDeadline { consider(connected && !inflight.isEmpty ? deadline : now) }
        if let retry = retryAt { consider(retry) }
        return wake
    }

    // MARK: Helpers

    private mutating func insertPending(_ event: OutboundEvent, published: Bool) {
        let entry = Pending(event: event, published: published)
        if let last = pending.last, last.event.seq >= event.seq {
            let i = insertionIndex(event.seq)
            if i < pending.count, pending[i].event.seq == event.seq {
                // Already waiting (a saved copy): it needs publishing again.
                if !published, pending[i].published, !pending[i].settled {
                    pending[i].published = false
                    unpublishedPending += 1
                    pendingCursor = min(pendingCursor, i)
                }
                return
            }
            pending.insert(entry, at: i)
            if i <= pendingCursor { pendingCursor = published ? pendingCursor + 1 : i }
        } else {
            pending.append(entry)
        }
        if !published {
            unpublishedPending += 1
            // A stored row below the cursor would never be read on this connection.
            if event.seq <= cursor { rewind(below: event.seq) }
        }
        if pendingSince == nil { pendingSince = clock }
    }

    private mutating func flushQueue() {
        let at = queue.first?.at
        for entry in queue.removeAll() { insertPending(entry.event, published: false) }
        if let at, pendingSince.map({ at < $0 }) ?? true { pendingSince = at }
    }

    private mutating func delete(_ seq: UInt64) {
        deletes.append(seq)
        deleteSet.insert(seq)
        if pendingSince == nil { pendingSince = clock }
    }

    private mutating func settle(_ i: Int) {
        if !pending[i].published { unpublishedPending -= 1 }
        pending[i].settled = true
        settledPending += 1
        if settledPending == pending.count {
            pending.removeAll(keepingCapacity: true)
            settledPending = 0
            pendingCursor = 0
            if deletes.isEmpty, droppedInMemory == 0, history.isEmpty { pendingSince = nil }
        }
    }

    /// An acknowledged event for the history, written by the next group commit.
    private mutating func keep(_ event: OutboundEvent) {
        history.append(event)
        if pendingSince == nil { pendingSince = clock }
        enforceHistoryLimit()
    }

    /// While SQLite cannot be written, the history waits in memory up to `historyHeldLimit`
    /// events; beyond, the oldest are not kept (the history gets a gap, counted), so a failing
    /// disk never holds up delivery.
    private mutating func enforceHistoryLimit() {
        let excess = history.count - settings.historyHeldLimit
        guard excess > 0 else { return }
        history.removeFirst(excess)
        counters.historySkipped += excess
    }

    /// Re-read stored rows from `seq` on (they include an event to publish again).
    private mutating func rewind(below seq: UInt64) {
        cursor = min(cursor, seq - 1)
        _ = readahead.removeAll()
        readaheadComplete = false
    }

    /// With the read-ahead empty and complete, every stored row is published: move the cursor up.
    private mutating func settleCursor() {
        if readahead.isEmpty, readaheadComplete, let newest = storedNewest { cursor = max(cursor, newest) }
    }

    private func pendingIndex(_ seq: UInt64) -> Int? {
        let i = insertionIndex(seq)
        return i < pending.count && pending[i].event.seq == seq ? i : nil
    }

    /// The first index whose seq is >= `seq`.
    private func insertionIndex(_ seq: UInt64) -> Int {
        var low = 0, high = pending.count
        while low < high {
            let mid = (low + high) / 2
            if pending[mid].event.seq < seq { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// While SQLite cannot be written, memory holds at most `heldLimit` unsaved events; beyond,
    /// `on_full` drops the oldest or the newest not yet published, counted.
    private mutating func enforceHeldLimit() {
        var excess = livePending - settings.heldLimit
        guard excess > 0 else { return }
        var dropped = 0
        if settings.onFull == .dropOldest {
            var i = 0
            while excess > 0, i < pending.count {
                if !pending[i].published, !pending[i].settled {
                    pending[i].settled = true
                    unpublishedPending -= 1
                    dropped += 1
                    excess -= 1
                }
                i += 1
            }
        } else {
            var i = pending.count - 1
            while excess > 0, i >= 0 {
                if !pending[i].published, !pending[i].settled {
                    pending[i].settled = true
                    unpublishedPending -= 1
                    dropped += 1
                    excess -= 1
                }
                i -= 1
            }
        }
        pending.removeAll { $0.settled && !$0.published }
        settledPending = pending.filter(\.settled).count
        pendingCursor = 0
        counters.dropped += dropped
        droppedInMemory += dropped
    }
}
