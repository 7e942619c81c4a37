// The replay policy, with no I/O: which requests are served and in what order, what is read
// from the history, how fast it is published and what the final `done` says. Inputs say what
// happened (a request arrived, the history was inspected or read, a PUBACK, the connection came
// or went, stop); `nextAction(at:)` says what the I/O loop (ReplayRunner) does next. Times are
// milliseconds on a monotonic clock.
//
// One replay runs at a time, the others wait in arrival order (at most `queueLimit`). A replay
// publishes at most `rate` events a second (all replays together) with at most `window` of them
// unacknowledged, and none while live delivery is backed up (`liveBackedUp`: it waits
// `yieldDelay` and looks again), so it never crowds live delivery; its `done` goes out once every
// event of it is acknowledged, so its counts are exact. A lost connection rewinds to the oldest event not
// acknowledged: after reconnecting the replay goes on from there (duplicates possible, gaps not).

/// The seqs the history holds.
public struct HistoryBounds: Sendable, Equatable {
    public var oldest: UInt64?
    public var newest: UInt64?
    public init(oldest: UInt64?, newest: UInt64?) {
        self.oldest = oldest
        self.newest = newest
    }
}

/// History rows whose event time lies in a window: how many, their lowest and highest seq.
public struct HistoryTimeSpan: Sendable, Equatable {
    public var count: Int
    public var first: UInt64?
    public var last: UInt64?
    public init(count: Int, first: UInt64?, last: UInt64?) {
        self.count = count
        self.first = first
        self.last = last
    }
}

public struct ReplayStateMachine: Sendable {
    public enum Target: Sendable, Equatable {
        /// `{base}/replay/{id}/{type}/{subject}`, tagged, then `done` (the gateway's service).
        case replayTopics
        /// The events' own live topics, tagged; no `done` message (`sensorgate replay --publish`).
        case liveTopics
        /// The stored bytes untouched (`sensorgate replay --print`).
        case print
    }

    public struct Settings: Sendable, Equatable {
        /// `{topic_prefix}/{gateway id}`.
        public var base: String
        public var target: Target
        /// Events per second, all replays together; nil: as fast as they are taken.
        public var rate: Int?
        /// The most events of history one request may cover.
        public var maxEvents: Int
        /// Replayed events unacknowledged at once.
        public var window = 20
        /// Requests waiting behind the running one; beyond, refused as busy.
        public var queueLimit = 8
        /// Rows per read.
        public var readLimit = 256
        /// A clean stop waits this long for PUBACKs before answering `aborted`.
        public var stopGrace: Int64 = 2_000
        /// While live delivery is backed up, look again after this long.
        public var yieldDelay: Int64 = 10
        /// A request whose `to_seq` is above the newest kept event waits up to this long (looking
        /// again every 100 ms) for the history to catch up: a consumer that sees a gap asks at
        /// once, while the events before the gap may still wait for their group commit.
        public var catchUpWait: Int64 = 1_000

        public init(base: String, target: Target = .replayTopics, rate: Int?, maxEvents: Int) {
            self.base = base
            self.target = target
            self.rate = rate
            self.maxEvents = maxEvents
        }

        public init(base: String, history: HistorySettings, target: Target = .replayTopics) {
            self.init(base: base, target: target, rate: history.replayRate, maxEvents: history.replayMaxEvents)
        }
    }

    /// A message to publish (or print): `seq` is nil for a `done`.
    public struct Message: Sendable, Equatable {
        public var topic: String
        public var payload: [UInt8]
        public var seq: UInt64?
        /// The request it answers.
        public var id: String
    }

    public enum Action: Sendable, Equatable {
        /// Report the history's bounds (and, for a time window, its span) with `inspected`.
        case inspect(ReplayQuery)
        /// Rows with `after` < seq <= `through` passing the query's filters, at most `limit`, in
        /// seq order; report them with `rowsRead`.
        case read(after: UInt64, through: UInt64, query: ReplayQuery, limit: Int)
        /// Publish these in order; report each event's PUBACK with `acknowledged`.
        case publish([Message])
        /// Stopping is complete.
        case finished
        case idle(until: Int64?)
    }

    /// How a replay ended: what its `done` says.
    public struct Report: Sendable, Equatable {
        public enum Status: String, Sendable, CaseIterable {
            case complete, partial, refused, aborted
        }
        public var id: String
        public var status: Status
        public var query: ReplayQuery?
        public var sent = 0
        public var firstSeq: UInt64? = nil
        public var lastSeq: UInt64? = nil
        /// Seqs in the range that history does not hold although not pruned (dropped, refused
        /// by the broker, lost in a crash); counted for unfiltered seq ranges only.
        public var missing: Int? = nil
        /// Seqs the request covered that were pruned before or while replaying (`from` nil: as far
        /// back as a time window reaches).
        public var prunedFrom: UInt64? = nil
        public var prunedTo: UInt64? = nil
        public var history = HistoryBounds(oldest: nil, newest: nil)
        public var reason: String? = nil

        public init(id: String, status: Status, query: ReplayQuery?, reason: String? = nil) {
            self.id = id
            self.status = status
            self.query = query
            self.reason = reason
        }

        public var document: JSONDocument {
            func seq(_ s: UInt64?) -> JSONDocument { s.map { .number(Double($0)) } ?? .null }
            var members: [(String, JSONDocument)] = [
                ("id", .string(id)), ("status", .string(status.rawValue)), ("sent", .number(Double(sent))),
                ("first_seq", seq(firstSeq)), ("last_seq", seq(lastSeq)),
            ]
            if let missing { members.append(("missing", .number(Double(missing)))) }
            members.append(("pruned", prunedTo == nil ? .null : .object([("from_seq", seq(prunedFrom)), ("to_seq", seq(prunedTo))])))
            members.append(("history", .object([("oldest_seq", seq(history.oldest)), ("newest_seq", seq(history.newest))])))
            members.append(("requested", query?.document ?? .null))
            members.append(("reason", reason.map { .string($0) } ?? .null))
            return .object(members)
        }

        public var json: String { document.rendered(indent: 0) }
    }

    struct Active: Sendable {
        var request: ReplayRequest
        var startedAt: Int64 = 0
        var inspectAt: Int64? = nil
        var inspected = false
        var first: UInt64 = 0
        var through: UInt64 = 0
        /// Every row up to `cursor` has been read.
        var cursor: UInt64 = 0
        var readComplete = false
        var reading = false
        var rows = Ring<OutboundEvent>()
        var inflight: Set<UInt64> = []
        var report: Report
        var notes: [String] = []
        var refused = 0
    }

    public private(set) var settings: Settings
    public private(set) var connected = false
    private var bucket: TokenBucket?
    private var queue: [ReplayRequest] = []
    private var active: Active? = nil
    /// `done` messages waiting for the connection.
    private var outbox: [Message] = []
    private var stopDeadline: Int64? = nil
    private var done = false
    private var liveBackedUp = false
    /// How often a replay held back for live delivery.
    public private(set) var yields = 0
    /// Reports of the replays finished so far, oldest first (the CLI reads its one; the service
    /// logs them).
    public private(set) var finished: [Report] = []

    public init(settings: Settings) {
        self.settings = settings
        bucket = settings.rate.map { TokenBucket(rate: $0, burst: max(1, min($0 / 10, settings.window))) }
    }

    public var isIdle: Bool { active == nil && queue.isEmpty && outbox.isEmpty }
    public var isStopping: Bool { stopDeadline != nil }

    public mutating func updateSettings(_ new: Settings) {
        if new.rate != settings.rate {
            bucket = new.rate.map { TokenBucket(rate: $0, burst: max(1, min($0 / 10, new.window))) }
        }
        settings = new
    }

    /// Reports finished so far, handed over once.
    public mutating func takeFinished() -> [Report] {
        defer { finished.removeAll() }
        return finished
    }

    // MARK: Inputs

    /// A request's payload from `{base}/replay/request`.
    public mutating func requestReceived(_ payload: [UInt8]) {
        switch ReplayRequest.parse(payload) {
        case .refused(let id, let reason):
            conclude(Report(id: id ?? ReplayTopics.invalidID, status: .refused, query: nil, reason: reason))
        case .request(let request):
            submit(request)
        }
    }

    /// A request already parsed (the command line builds its own).
    public mutating func submit(_ request: ReplayRequest) {
        if stopDeadline != nil {
            conclude(Report(id: request.id, status: .refused, query: request.query, reason: "the gateway is stopping; ask again once it is back"))
        } else if active?.request.id == request.id || queue.contains(where: { $0.id == request.id }) {
            conclude(Report(id: request.id, status: .refused, query: request.query,
                            reason: "a replay with id '\(request.id)' is already running or waiting; use a new id"))
        } else if queue.count >= settings.queueLimit {
            conclude(Report(id: request.id, status: .refused, query: request.query,
                            reason: "busy: \(queue.count + 1) replays are running or waiting; ask again later"))
        } else {
            queue.append(request)
        }
    }

    public mutating func connected(at now: Int64) {
        connected = true
    }

    /// Whether live delivery is backed up now (the forwarder says, every turn of its loop).
    public mutating func liveBackedUp(_ backedUp: Bool) {
        liveBackedUp = backedUp
    }

    /// Unacknowledged events of the running replay are read again after the reconnect.
    public mutating func connectionLost(at now: Int64) {
        connected = false
        guard var a = active, a.inspected else { return }
        if let oldest = a.inflight.min() {
            a.cursor = min(a.cursor, oldest - 1)
            a.readComplete = false
        } else if let first = a.rows.first {
            a.cursor = min(a.cursor, first.seq - 1)
            a.readComplete = false
        }
        _ = a.rows.removeAll()
        a.inflight.removeAll()
        a.reading = false
        active = a
    }

    /// The answer to `inspect`: the history's bounds and, for a time window, the rows in it.
    /// `oldestTime`: the oldest kept event's time (milliseconds), to tell a window reaching
    /// back into pruned history.
    public mutating func inspected(bounds: HistoryBounds, span: HistoryTimeSpan?, oldestTime: Int64?, at now: Int64 = 0) {
        guard var a = active, !a.inspected else { return }
        let q = a.request.query
        if let to = q.toSeq, to > (bounds.newest ?? 0), now - a.startedAt < settings.catchUpWait {
            a.inspectAt = now + 100  // the history may not have caught up yet
            active = a
            return
        }
        a.report.history = bounds
        func refuse(_ reason: String) {
            var report = a.report
            report.status = .refused
            report.reason = reason
            active = nil
            conclude(report)
        }
        guard let oldest = bounds.oldest, let newest = bounds.newest else {
            refuse("the history holds no event yet (nothing delivered since it was turned on)")
            return
        }
        let holds = "the history holds seq \(oldest) to \(newest)"
        if let from = q.fromSeq {
            let to = q.toSeq ?? newest
            if to < oldest {
                a.report.prunedFrom = from
                a.report.prunedTo = to
                refuse("seq \(from) to \(to) were pruned: \(holds)")
                return
            }
            if from > newest {
                refuse("nothing to replay: from_seq \(from) is above the newest delivered event; \(holds)")
                return
            }
            a.first = max(from, oldest)
            a.through = min(to, newest)
            if from < oldest {
                a.report.prunedFrom = from
                a.report.prunedTo = oldest - 1
                a.notes.append("seq \(from) to \(oldest - 1) were pruned")
            }
            if to > newest, q.toSeq != nil { a.notes.append("seq \(newest + 1) to \(to) are not in the history yet (not delivered, or not emitted yet)") }
        } else {
            let since = q.since ?? .min
            if let oldestTime, since < oldestTime {
                a.report.prunedTo = oldest > 1 ? oldest - 1 : nil
                if oldest > 1 { a.notes.append("events before \(Timestamp(millisecondsSinceEpoch: oldestTime).rfc3339) (seq below \(oldest)) were pruned") }
            }
            guard let span, span.count > 0, let first = span.first, let last = span.last else {
                refuse("no kept event has a time in the window; \(holds)")
                return
            }
            a.first = first
            a.through = last
        }
        let covers = a.through - a.first + 1
        let count = q.isTimeWindow ? UInt64(span?.count ?? 0) : covers
        if count > UInt64(settings.maxEvents) {
            refuse("the request covers \(count) events of history (seq \(a.first) to \(a.through)); at most \(settings.maxEvents) per request (history.replay_max_events): ask for a smaller range")
            return
        }
        a.inspected = true
        a.cursor = a.first - 1
        active = a
    }

    /// The answer to `read`. `oldest`: the history's oldest seq now (rows may have been pruned
    /// since the replay started).
    public mutating func rowsRead(_ rows: [OutboundEvent], limit: Int, oldest: UInt64?) {
        guard var a = active, a.reading else { return }
        a.reading = false
        let next = a.cursor + 1
        if let oldest, oldest > next, next <= a.through {
            let prunedTo = min(oldest - 1, a.through)
            if a.report.prunedTo.map({ $0 < prunedTo }) ?? true {
                if a.report.prunedTo == nil { a.report.prunedFrom = next }
                a.report.prunedTo = prunedTo
            }
            if !a.notes.contains(where: { $0.hasPrefix("pruned while replaying") }) {
                a.notes.append("pruned while replaying: seq \(next) to \(prunedTo)")
            }
        }
        for row in rows where row.seq > a.cursor && row.seq <= a.through {
            a.rows.append(row)
            a.cursor = row.seq
        }
        if rows.count < limit {
            a.cursor = a.through
            a.readComplete = true
        }
        active = a
    }

    /// The PUBACK of a replayed event (or, printing or at QoS 0, its sending); `refusal`: the
    /// broker's reason code when it refused it (an ACL without `{base}/replay/#`).
    public mutating func acknowledged(seq: UInt64, refusal: Int32? = nil) {
        guard var a = active, a.inflight.remove(seq) != nil else { return }
        if let refusal {
            a.refused += 1
            let note = "the broker refused replayed events (reason 0x\(String(refusal, radix: 16))): its ACL must let the gateway publish to \(settings.base)/replay/#"
            if !a.notes.contains(note) { a.notes.append(note) }
            active = a
            return
        }
        a.report.sent += 1
        a.report.firstSeq = min(a.report.firstSeq ?? seq, seq)
        a.report.lastSeq = max(a.report.lastSeq ?? seq, seq)
        active = a
    }

    /// The history could not be inspected or read: the running replay ends with the reason.
    public mutating func historyFailed(_ reason: String) {
        guard var a = active else { return }
        a.report.status = .aborted
        a.report.reason = "cannot read the history: \(reason)"
        active = nil
        conclude(a.report)
    }

    /// Stop: what is in flight gets `stopGrace` for its PUBACKs; every replay not finished is
    /// answered `aborted`.
    public mutating func stop(at now: Int64) {
        guard stopDeadline == nil else { return }
        stopDeadline = now + settings.stopGrace
    }

    // MARK: What to do

    public mutating func nextAction(at now: Int64) -> Action {
        if done { return .idle(until: nil) }
        if let deadline = stopDeadline {
            let waiting = connected && !(active?.inflight.isEmpty ?? true) && now < deadline
            if !waiting {
                if var a = active {
                    a.report.status = .aborted
                    a.report.reason = "the gateway is stopping; ask again for the rest once it is back"
                    active = nil
                    conclude(a.report)
                }
                for request in queue {
                    conclude(Report(id: request.id, status: .aborted, query: request.query, reason: "the gateway is stopping; ask again once it is back"))
                }
                queue.removeAll()
                if connected, !outbox.isEmpty { return .publish(takeOutbox()) }
                done = true
                return .finished
            }
        }
        if connected || settings.target == .print, !outbox.isEmpty { return .publish(takeOutbox()) }
        if active == nil, !queue.isEmpty, stopDeadline == nil {
            let request = queue.removeFirst()
            active = Active(request: request, startedAt: now, report: Report(id: request.id, status: .complete, query: request.query))
            return .inspect(request.query)
        }
        guard var a = active else { return .idle(until: nil) }
        guard a.inspected else {
            guard let at = a.inspectAt else { return .idle(until: nil) }
            if now < at { return .idle(until: at) }
            a.inspectAt = nil
            active = a
            return .inspect(a.request.query)
        }
        if a.rows.isEmpty, !a.readComplete, !a.reading {
            if a.cursor >= a.through {
                a.readComplete = true
                active = a
            } else {
                a.reading = true
                active = a
                return .read(after: a.cursor, through: a.through, query: a.request.query, limit: settings.readLimit)
            }
        }
        if a.rows.isEmpty, a.readComplete, a.inflight.isEmpty {
            finish(a)
            return nextAction(at: now)
        }
        guard connected || settings.target == .print, stopDeadline == nil, !a.rows.isEmpty else { return .idle(until: nil) }
        if liveBackedUp, settings.target != .print {
            yields += 1
            return .idle(until: now + settings.yieldDelay)
        }
        var room = settings.target == .print ? a.rows.count : settings.window - a.inflight.count
        if var bucket {
            let tokens = bucket.available(at: now)
            if tokens < 1, room > 0 {
                let wake = bucket.nextToken(at: now)
                self.bucket = bucket
                return .idle(until: wake)
            }
            room = min(room, tokens)
            self.bucket = bucket
        }
        guard room > 0 else { return .idle(until: nil) }
        var batch: [Message] = []
        while batch.count < room, let row = a.rows.popFirst() {
            a.inflight.insert(row.seq)
            batch.append(message(for: row, id: a.request.id))
        }
        bucket?.take(batch.count, at: now)
        active = a
        return .publish(batch)
    }

    private func message(for row: OutboundEvent, id: String) -> Message {
        switch settings.target {
        case .replayTopics:
            return Message(topic: ReplayTopics.event(base: settings.base, id: id, type: row.type, subject: row.subject),
                           payload: ReplayTopics.tagged(row.payload, id: id), seq: row.seq, id: id)
        case .liveTopics:
            return Message(topic: row.topic, payload: ReplayTopics.tagged(row.payload, id: id), seq: row.seq, id: id)
        case .print:
            return Message(topic: row.topic, payload: row.payload, seq: row.seq, id: id)
        }
    }

    private mutating func finish(_ a: Active) {
        var report = a.report
        if a.request.query.isTimeWindow || a.request.query.isFiltered {
            report.missing = nil
        } else {
            report.missing = Int(a.through - a.first + 1) - report.sent - a.refused - prunedWithin(report, first: a.first, through: a.through)
        }
        if !a.notes.isEmpty {
            report.status = .partial
            report.reason = a.notes.joined(separator: "; ")
        }
        active = nil
        conclude(report)
    }

    /// Seqs between `first` and `through` pruned while replaying.
    private func prunedWithin(_ report: Report, first: UInt64, through: UInt64) -> Int {
        guard let to = report.prunedTo, to >= first else { return 0 }
        let from = max(report.prunedFrom ?? first, first)
        return to >= from ? Int(min(to, through) - from + 1) : 0
    }

    private mutating func conclude(_ report: Report) {
        finished.append(report)
        guard settings.target == .replayTopics else { return }
        let payload = Array(report.json.utf8)
        outbox.append(Message(topic: ReplayTopics.done(base: settings.base, id: report.id), payload: payload, seq: nil, id: report.id))
        if outbox.count > 64 { outbox.removeFirst(outbox.count - 64) }  // answers to a flood of bad requests while offline
    }

    private mutating func takeOutbox() -> [Message] {
        defer { outbox.removeAll() }
        return outbox
    }
}
