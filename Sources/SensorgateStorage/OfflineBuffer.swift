// The store-and-forward buffer: events waiting for the broker's PUBACK, in a SQLite file of their
// own (`buffer.db`, WAL), keyed by seq (never by wall-clock time: a Pi without an RTC boots in the
// past). Writes are group commits; limits are enforced with the on_full policy inside the same
// transaction, and drops are counted durably. A file SQLite cannot read is moved aside, never
// deleted. With `history:` on, the same group commits also write acknowledged events to the
// `history` table (a stored row moves there in the transaction that deletes it) and prune it
// as HistoryRetention decides; replays read it through HistoryReader, on their own connection.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore

/// Owns a SQLite handle; used by one thread at a time (the forwarder's), handed over once.
public final class OfflineBuffer: @unchecked Sendable {
    public typealias Entry = OutboundEvent

    public struct Stats: Sendable, Equatable {
        public var events: Int
        public var bytes: Int64
        public var oldestSeq: UInt64?
        public var newestSeq: UInt64?
        public var dropped: Int64
        public var deadLettered: Int
        /// The event history: delivered events kept, their bytes, the oldest and newest kept seq,
        /// and how many were pruned so far.
        public var historyEvents = 0
        public var historyBytes: Int64 = 0
        public var historyOldestSeq: UInt64? = nil
        public var historyNewestSeq: UInt64? = nil
        public var historyPruned: Int64 = 0

        public static let empty = Stats(events: 0, bytes: 0, oldestSeq: nil, newestSeq: nil, dropped: 0, deadLettered: 0)

        /// The JSON `buffer stats` prints (SPEC.md, with the history's rows after the buffer's).
        public var json: String {
            func seq(_ s: UInt64?) -> String { s.map(String.init) ?? "null" }
            return "{\"events\": \(events), \"bytes\": \(bytes), \"oldest_seq\": \(seq(oldestSeq)), " +
                "\"newest_seq\": \(seq(newestSeq)), \"dropped\": \(dropped), \"dead_letter\": \(deadLettered), " +
                "\"history_events\": \(historyEvents), \"history_bytes\": \(historyBytes), \"history_oldest_seq\": \(seq(historyOldestSeq)), " +
                "\"history_newest_seq\": \(seq(historyNewestSeq)), \"history_pruned\": \(historyPruned)}"
        }
    }

    public let path: String
    public private(set) var maxEvents: Int
    public private(set) var maxBytes: Int64
    public private(set) var onFull: BufferSettings.OnFull
    /// Set when the file at `path` was damaged and moved aside (with what it held, if readable).
    public private(set) var quarantine: StateFile.Quarantine?
    public var movedAside: String? { quarantine?.path }
    /// Commits made to this file so far (kept in `meta`): a BufferRecord elsewhere that saw a
    /// higher number proves this file lost commits it had made (a damaged WAL, a truncation).
    public private(set) var generation: Int64 = 0

    private let database: SQLiteDatabase
    private var count: Int
    private var bytes: Int64
    private var dropped: Int64
    /// The highest seq stored, nil when empty.
    public private(set) var newestSeq: UInt64?
    private let insert: SQLiteStatement
    private let delete: SQLiteStatement
    /// Acknowledged events go by runs of consecutive seqs (a drain acknowledges in seq order):
    /// one B-tree walk per run instead of one lookup per event.
    private let deleteRange: SQLiteStatement
    private let readAfter: SQLiteStatement
    private let saveMeta: SQLiteStatement
    private let newestQuery: SQLiteStatement
    private let oldestQuery: SQLiteStatement
    private let insertHistory: SQLiteStatement
    private let oldestHistory: SQLiteStatement
    private let pruneHistory: SQLiteStatement

    /// History: nil while off. Totals kept in memory and in `meta` like the buffer's.
    public private(set) var retention: HistoryRetention?
    private var historyCount = 0
    private var historyBytes: Int64 = 0
    private var historyPruned: Int64 = 0
    /// The oldest kept row's time, so a commit need not look at the oldest rows when nothing is due.
    private var historyOldestTime: Int64? = nil

    public init(path: String, maxEvents: Int, maxBytes: Int64, onFull: BufferSettings.OnFull,
                synchronous: BufferSettings.Sync) throws(SQLiteError) {
        self.path = path
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.onFull = onFull
        let (database, quarantine) = try StateFile.open(
            path: path, synchronous: synchronous, schema: Self.schema,
            probe: ["SELECT count(*), coalesce(sum(length(topic) + length(payload)), 0), max(seq) FROM events",
                    "SELECT count(*), max(seq) FROM dead_letter", "SELECT key, value FROM meta"],
            describe: { db in
                guard let stmt = try? db.prepare("SELECT value FROM meta WHERE key = 'count'"), (try? stmt.step()) == true else { return nil }
                return "about \(stmt.int64(0)) buffered event(s)"
            })
        self.quarantine = quarantine
        self.database = database
        try Self.migrate(database)
        let totals = try database.prepare("SELECT count(*), coalesce(sum(length(topic) + length(payload)), 0), max(seq) FROM events")
        _ = try totals.step()
        count = Int(totals.int64(0))
        bytes = totals.int64(1)
        newestSeq = totals.isNull(2) ? nil : UInt64(totals.int64(2))
        let meta = try database.prepare("SELECT value FROM meta WHERE key = ?1")
        func value(_ key: String) throws(SQLiteError) -> Int64? {
            try meta.bind(1, key)
            defer { meta.reset() }
            return try meta.step() ? meta.int64(0) : nil
        }
        dropped = try value("dropped") ?? 0
        generation = try value("generation") ?? 0
        historyPruned = try value("history_pruned") ?? 0
        insert = try database.prepare("INSERT OR IGNORE INTO events (seq, topic, payload, time_ms, type, subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        delete = try database.prepare("DELETE FROM events WHERE seq = ?1 RETURNING length(topic) + length(payload)")
        deleteRange = try database.prepare("DELETE FROM events WHERE seq BETWEEN ?1 AND ?2 RETURNING length(topic) + length(payload)")
        readAfter = try database.prepare("SELECT seq, topic, payload, time_ms, type, subject FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        saveMeta = try database.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        newestQuery = try database.prepare("SELECT max(seq) FROM events")
        oldestQuery = try database.prepare("SELECT seq, payload FROM events ORDER BY seq LIMIT 1")
        insertHistory = try database.prepare("INSERT OR IGNORE INTO history (seq, time_ms, type, subject, topic, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        oldestHistory = try database.prepare("SELECT seq, time_ms, length(topic) + length(payload) FROM history ORDER BY seq LIMIT ?1")
        pruneHistory = try database.prepare("DELETE FROM history WHERE seq <= ?1")
        let history = try database.prepare("SELECT count(*), coalesce(sum(length(topic) + length(payload)), 0) FROM history")
        _ = try history.step()
        historyCount = Int(history.int64(0))
        historyBytes = history.int64(1)
        historyOldestTime = try oldestHistoryTime()
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            time_ms INTEGER NOT NULL DEFAULT 0,
            type TEXT NOT NULL DEFAULT '',
            subject TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE IF NOT EXISTS dead_letter (
            seq INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            reason INTEGER NOT NULL,
            time_ms INTEGER NOT NULL DEFAULT 0,
            type TEXT NOT NULL DEFAULT '',
            subject TEXT NOT NULL DEFAULT '',
            at_ms INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS history (
            seq INTEGER PRIMARY KEY,
            time_ms INTEGER NOT NULL,
            type TEXT NOT NULL,
            subject TEXT NOT NULL,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS history_time ON history (time_ms);
        """

    /// Columns added since the first release of this file, added to files that predate them.
    static let addedColumns: [(table: String, column: String, definition: String)] = [
        ("events", "time_ms", "INTEGER NOT NULL DEFAULT 0"), ("events", "type", "TEXT NOT NULL DEFAULT ''"),
        ("events", "subject", "TEXT NOT NULL DEFAULT ''"),
        ("dead_letter", "time_ms", "INTEGER NOT NULL DEFAULT 0"), ("dead_letter", "type", "TEXT NOT NULL DEFAULT ''"),
        ("dead_letter", "subject", "TEXT NOT NULL DEFAULT ''"), ("dead_letter", "at_ms", "INTEGER NOT NULL DEFAULT 0"),
    ]

    static func migrate(_ database: SQLiteDatabase) throws(SQLiteError) {
        for table in Set(addedColumns.map(\.table)) {
            let info = try database.prepare("PRAGMA table_info(\(table))")
            var columns: Set<String> = []
            while try info.step() { if let name = info.string(1) { columns.insert(name) } }
            guard !columns.isEmpty else { continue }  // no such table (yet)
            for added in addedColumns where added.table == table && !columns.contains(added.column) {
                try database.execute("ALTER TABLE \(table) ADD COLUMN \(added.column) \(added.definition)")
            }
        }
    }

    /// The highest seq this file knows was handed out: stored and dead-lettered events, the
    /// next seq of `mode: always`, and the sequence block last reserved (SequenceMirror). The
    /// sequence resumes above it even when sensorgate.db is lost.
    public func highestSeq(includingReservations: Bool) throws(SQLiteError) -> UInt64 {
        let stmt = try database.prepare("""
            SELECT max(coalesce((SELECT max(seq) FROM events), 0),
                       coalesce((SELECT max(seq) FROM dead_letter), 0),
                       coalesce((SELECT max(seq) FROM history), 0),
                       coalesce((SELECT value - 1 FROM meta WHERE key = 'next_seq'), 0),
                       coalesce((SELECT value - 1 FROM meta WHERE key = 'reserved_seq' AND \(includingReservations ? 1 : 0)), 0))
            """)
        _ = try stmt.step()
        return UInt64(max(0, stmt.int64(0)))
    }

    public var isEmpty: Bool { count == 0 }
    public var eventCount: Int { count }
    /// Bytes of topic and payload stored, as `max_bytes` counts them.
    public var byteCount: Int64 { bytes }

    /// The oldest stored event's seq and payload (for its age on /metrics), nil when empty.
    public func oldest() throws(SQLiteError) -> (seq: UInt64, payload: [UInt8])? {
        defer { oldestQuery.reset() }
        guard try oldestQuery.step() else { return nil }
        return (UInt64(oldestQuery.int64(0)), oldestQuery.blob(1))
    }

    /// The next seq recorded with the last commit (`mode: always` keeps its sequence here).
    public func storedNextSeq() throws(SQLiteError) -> UInt64? {
        let stmt = try database.prepare("SELECT value FROM meta WHERE key = 'next_seq'")
        return try stmt.step() ? UInt64(stmt.int64(0)) : nil
    }

    public func clearStoredNextSeq() throws(SQLiteError) {
        try database.execute("DELETE FROM meta WHERE key = 'next_seq'")
    }

    /// `sync` from a reloaded config.
    public func setSynchronous(_ sync: BufferSettings.Sync) throws(SQLiteError) { try database.setSynchronous(sync) }

    /// New limits after a reload; applied from the next commit on.
    public func setLimits(maxEvents: Int, maxBytes: Int64, onFull: BufferSettings.OnFull) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.onFull = onFull
    }

    /// One transaction, as the delivery state machine asks: deletes acknowledged events, appends
    /// new ones (applying the on_full policy), records `nextSeq` and drops counted in memory.
    /// `now`: wall-clock milliseconds for the history's `keep`, nil while the clock is not
    /// synchronized (then only `max_bytes` prunes).
    @discardableResult
    public func commit(_ c: DeliveryStateMachine.Commit, now: Int64? = nil) throws(SQLiteError) -> DeliveryStateMachine.CommitResult {
        var newCount = count, newBytes = bytes
        var history = HistoryTotals(count: historyCount, bytes: historyBytes, pruned: historyPruned, oldestTime: historyOldestTime)
        var droppedNew: [UInt64] = []
        var droppedThrough: UInt64? = nil
        var droppedOld = 0
        var newest = newestSeq
        do {
            try write(c, count: &newCount, bytes: &newBytes, droppedNew: &droppedNew, droppedThrough: &droppedThrough,
                      droppedOld: &droppedOld, newest: &newest, history: &history, now: now)
        } catch {
            // A full disk: give back what the WAL took, so freeing a little space is enough.
            if error.isDiskFull { try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            throw error
        }
        count = newCount
        bytes = newBytes
        newestSeq = newest
        (historyCount, historyBytes, historyPruned, historyOldestTime) = (history.count, history.bytes, history.pruned, history.oldestTime)
        generation += 1
        dropped += Int64(droppedNew.count + droppedOld + c.droppedInMemory)
        return .init(count: newCount, newest: newest, droppedThrough: droppedThrough, droppedNew: droppedNew,
                     dropped: droppedNew.count + droppedOld)
    }

    /// `seqs` as runs of consecutive numbers, ascending (duplicates merged).
    static func runs(of seqs: [UInt64]) -> [ClosedRange<UInt64>] {
        var runs: [ClosedRange<UInt64>] = []
        for seq in seqs.sorted() {
            if let last = runs.last, seq <= last.upperBound &+ 1 {
                if seq > last.upperBound { runs[runs.count - 1] = last.lowerBound...seq }
            } else {
                runs.append(seq...seq)
            }
        }
        return runs
    }

    struct HistoryTotals {
        var count: Int
        var bytes: Int64
        var pruned: Int64
        var oldestTime: Int64?
    }

    private func write(_ c: DeliveryStateMachine.Commit, count newCount: inout Int, bytes newBytes: inout Int64,
                       droppedNew: inout [UInt64], droppedThrough: inout UInt64?, droppedOld: inout Int,
                       newest: inout UInt64?, history: inout HistoryTotals, now: Int64?) throws(SQLiteError) {
        try database.transaction { () throws(SQLiteError) in
            if retention != nil, !c.history.isEmpty { try keep(c.history, totals: &history) }
            for run in Self.runs(of: c.delete) {
                try deleteRange.bind(1, Int64(run.lowerBound))
                try deleteRange.bind(2, Int64(run.upperBound))
                while try deleteRange.step() {
                    newCount -= 1
                    newBytes -= deleteRange.int64(0)
                }
                deleteRange.reset()
            }
            for entry in c.append {
                if onFull == .dropNewest, newCount + 1 > maxEvents || newBytes + entry.size > maxBytes {
                    droppedNew.append(entry.seq)
                    continue
                }
                try insert.bind(1, Int64(entry.seq))
                try insert.bind(2, entry.topic)
                try insert.bind(3, entry.payload)
                try insert.bind(4, entry.time)
                try insert.bind(5, entry.type)
                try insert.bind(6, entry.subject)
                try insert.run()
                if database.changes > 0 {
                    newCount += 1
                    newBytes += entry.size
                }
            }
            if onFull == .dropOldest, newCount > maxEvents || newBytes > maxBytes {
                let (n, b, through) = try dropOldest(excessEvents: newCount - maxEvents, excessBytes: newBytes - maxBytes)
                newCount -= n
                newBytes -= b
                droppedOld = n
                droppedThrough = through
            }
            let droppedNow = Int64(droppedNew.count + droppedOld + c.droppedInMemory)
            if droppedNow > 0 {
                try saveMeta.bind(1, "dropped")
                try saveMeta.bind(2, dropped + droppedNow)
                try saveMeta.run()
            }
            if let nextSeq = c.nextSeq {
                try saveMeta.bind(1, "next_seq")
                try saveMeta.bind(2, Int64(nextSeq))
                try saveMeta.run()
            }
            try saveMeta.bind(1, "generation")
            try saveMeta.bind(2, generation + 1)
            try saveMeta.run()
            if let retention, retention.isDue(totalBytes: history.bytes, oldestTime: history.oldestTime, now: now) {
                try prune(retention, totals: &history, now: now, insertedNow: c.history.count)
            }
            newest = newCount == 0 ? nil : try maxSeq()
            // Totals kept beside the rows, so `buffer stats` need not scan a million of them.
            try saveTotals(count: newCount, bytes: newBytes, newest: newest)
        }
    }

    private func maxSeq() throws(SQLiteError) -> UInt64? {
        _ = try newestQuery.step()
        defer { newestQuery.reset() }
        return newestQuery.isNull(0) ? nil : UInt64(newestQuery.int64(0))
    }

    /// Deletes the oldest rows until both limits hold; returns how many, their bytes, the last seq.
    private func dropOldest(excessEvents: Int, excessBytes: Int64) throws(SQLiteError) -> (Int, Int64, UInt64?) {
        let oldest = try database.prepare("SELECT seq, length(topic) + length(payload) FROM events ORDER BY seq LIMIT 1000")
        var n = 0, b: Int64 = 0, lastSeq: Int64 = -1
        while n < excessEvents || b < excessBytes {
            var any = false
            while try oldest.step() {
                any = true
                n += 1
                b += oldest.int64(1)
                lastSeq = oldest.int64(0)
                if n >= excessEvents, b >= excessBytes { break }
            }
            oldest.reset()
            guard any, lastSeq >= 0 else { break }
            let cut = try database.prepare("DELETE FROM events WHERE seq <= ?1")
            try cut.bind(1, lastSeq)
            try cut.run()
        }
        return (n, b, lastSeq >= 0 ? UInt64(lastSeq) : nil)
    }

    /// Up to `limit` events with seq above `seq`, oldest first.
    public func read(after seq: UInt64, limit: Int) throws(SQLiteError) -> [Entry] {
        try readAfter.bind(1, Int64(seq))
        try readAfter.bind(2, Int64(limit))
        defer { readAfter.reset() }
        var entries: [Entry] = []
        while try readAfter.step() {
            entries.append(Entry(seq: UInt64(readAfter.int64(0)), topic: readAfter.string(1) ?? "", payload: readAfter.blob(2),
                                 time: readAfter.int64(3), type: readAfter.string(4) ?? "", subject: readAfter.string(5) ?? ""))
        }
        return entries
    }

    /// Moves an event the broker keeps refusing out of the queue, so it cannot block the rest.
    /// `at`: wall-clock milliseconds, shown by `buffer dead-letter list`.
    public func moveToDeadLetter(_ entry: Entry, reason: Int, at: Int64 = 0) throws(SQLiteError) {
        try database.transaction { () throws(SQLiteError) in
            let stmt = try database.prepare("""
                INSERT OR REPLACE INTO dead_letter (seq, topic, payload, reason, time_ms, type, subject, at_ms)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """)
            try stmt.bind(1, Int64(entry.seq))
            try stmt.bind(2, entry.topic)
            try stmt.bind(3, entry.payload)
            try stmt.bind(4, Int64(reason))
            try stmt.bind(5, entry.time)
            try stmt.bind(6, entry.type)
            try stmt.bind(7, entry.subject)
            try stmt.bind(8, at)
            try stmt.run()
            try delete.bind(1, Int64(entry.seq))
            if try delete.step() {
                count -= 1
                bytes -= delete.int64(0)
            }
            delete.reset()
            try saveTotals(count: count, bytes: bytes, newest: newestSeq)
        }
    }

    private func saveTotals(count: Int, bytes: Int64, newest: UInt64?) throws(SQLiteError) {
        for (key, value) in [("count", Int64(count)), ("bytes", bytes), ("newest_seq", Int64(count == 0 ? 0 : newest ?? 0))] {
            try saveMeta.bind(1, key)
            try saveMeta.bind(2, value)
            try saveMeta.run()
        }
    }

    /// Stats of a buffer file without opening it for writing: the totals the writer keeps in
    /// `meta` (no table scan, so it is cheap beside a running gateway), scanning only for a file
    /// written before those totals existed.
    public static func stats(path: String) throws(SQLiteError) -> Stats {
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA busy_timeout = 2000")
        func meta(_ key: String) throws(SQLiteError) -> Int64? {
            let stmt = try database.prepare("SELECT value FROM meta WHERE key = ?1")
            try stmt.bind(1, key)
            return try stmt.step() ? stmt.int64(0) : nil
        }
        guard let count = try meta("count"), let bytes = try meta("bytes") else {
            let buffer = try OfflineBuffer(path: path, maxEvents: .max, maxBytes: .max, onFull: .dropNewest, synchronous: .normal)
            return try buffer.stats()
        }
        let oldest = try database.prepare("SELECT min(seq) FROM events")
        _ = try oldest.step()
        let dead = try database.prepare("SELECT count(*) FROM dead_letter")
        _ = try dead.step()
        let newest = try meta("newest_seq") ?? 0
        var stats = Stats(events: Int(count), bytes: bytes, oldestSeq: oldest.isNull(0) ? nil : UInt64(oldest.int64(0)),
                          newestSeq: count == 0 || newest == 0 ? nil : UInt64(newest), dropped: try meta("dropped") ?? 0,
                          deadLettered: Int(dead.int64(0)))
        if let history = try? database.prepare("SELECT min(seq), max(seq) FROM history"), (try? history.step()) == true {
            stats.historyOldestSeq = history.isNull(0) ? nil : UInt64(history.int64(0))
            stats.historyNewestSeq = history.isNull(1) ? nil : UInt64(history.int64(1))
            stats.historyEvents = Int(try meta("history_count") ?? 0)
            stats.historyBytes = try meta("history_bytes") ?? 0
            stats.historyPruned = try meta("history_pruned") ?? 0
        }
        return stats
    }

    public func stats() throws(SQLiteError) -> Stats {
        let oldest = try database.prepare("SELECT min(seq) FROM events")
        _ = try oldest.step()
        let dead = try database.prepare("SELECT count(*) FROM dead_letter")
        _ = try dead.step()
        var stats = Stats(events: count, bytes: bytes, oldestSeq: oldest.isNull(0) ? nil : UInt64(oldest.int64(0)),
                          newestSeq: newestSeq, dropped: dropped, deadLettered: Int(dead.int64(0)))
        let history = try database.prepare("SELECT min(seq), max(seq) FROM history")
        _ = try history.step()
        stats.historyOldestSeq = history.isNull(0) ? nil : UInt64(history.int64(0))
        stats.historyNewestSeq = history.isNull(1) ? nil : UInt64(history.int64(1))
        stats.historyEvents = historyCount
        stats.historyBytes = historyBytes
        stats.historyPruned = historyPruned
        return stats
    }

    // MARK: History

    /// Turns the history on (or changes its limits, applied from the next commit) or off. Off
    /// deletes what it held: "off" keeps nothing. Returns how many events were deleted.
    /// WAL pages after which the forwarder's own connection checkpoints. With a history every
    /// acknowledged event is written, so checkpoints (which fsync) come often: the replay
    /// service's thread runs them (HistoryReader.checkpointIfDue), and this connection only
    /// steps in when that thread falls far behind.
    static let walPages = 1_000
    static let walPagesWithHistory = 4_096

    @discardableResult
    public func setHistory(_ retention: HistoryRetention?) throws(SQLiteError) -> Int {
        self.retention = retention
        try database.execute("PRAGMA wal_autocheckpoint = \(retention == nil ? Self.walPages : Self.walPagesWithHistory)")
        // A WAL that grew while checkpoints lagged is cut back to 4 MB once it is reset.
        try database.execute("PRAGMA journal_size_limit = \(4 * 1024 * 1024)")
        guard retention == nil, historyCount > 0 else { return 0 }
        let deleted = historyCount
        try database.transaction { () throws(SQLiteError) in
            try database.execute("DELETE FROM history")
            try saveHistoryTotals(HistoryTotals(count: 0, bytes: 0, pruned: historyPruned, oldestTime: nil))
        }
        historyCount = 0
        historyBytes = 0
        historyOldestTime = nil
        return deleted
    }

    public var historyEventCount: Int { historyCount }
    public var historyByteCount: Int64 { historyBytes }

    /// Writes acknowledged events to the history (an event already there is left as it is).
    private func keep(_ events: [Entry], totals: inout HistoryTotals) throws(SQLiteError) {
        let wasEmpty = totals.count == 0
        for var event in events {
            if event.type.isEmpty { event = Self.withMetadata(event) }
            try insertHistory.bind(1, Int64(event.seq))
            try insertHistory.bind(2, event.time)
            try insertHistory.bind(3, event.type)
            try insertHistory.bind(4, event.subject)
            try insertHistory.bind(5, event.topic)
            try insertHistory.bind(6, event.payload)
            try insertHistory.run()
            guard database.changes > 0 else { continue }
            totals.count += 1
            totals.bytes += event.size
        }
        if wasEmpty { totals.oldestTime = try oldestHistoryTime() }
        try saveHistoryTotals(totals)
    }

    /// Deletes the oldest rows HistoryRetention lets go, at most its batch per commit.
    private func prune(_ retention: HistoryRetention, totals: inout HistoryTotals, now: Int64?, insertedNow: Int) throws(SQLiteError) {
        // At least twice what this commit added, so pruning always keeps up with a fast stream.
        var retention = retention
        retention.batchLimit = max(retention.batchLimit, 2 * insertedNow)
        try oldestHistory.bind(1, Int64(retention.batchLimit))
        var rows: [HistoryRetention.Row] = []
        while try oldestHistory.step() {
            rows.append(.init(seq: UInt64(oldestHistory.int64(0)), time: oldestHistory.int64(1), size: oldestHistory.int64(2)))
        }
        oldestHistory.reset()
        if let cut = retention.cut(oldest: rows, totalBytes: totals.bytes, now: now) {
            try pruneHistory.bind(1, Int64(cut.throughSeq))
            try pruneHistory.run()
            totals.count -= cut.rows
            totals.bytes -= cut.bytes
            totals.pruned += Int64(cut.rows)
        }
        totals.oldestTime = try oldestHistoryTime()
        try saveHistoryTotals(totals)
    }

    private func oldestHistoryTime() throws(SQLiteError) -> Int64? {
        try oldestHistory.bind(1, 1)
        defer { oldestHistory.reset() }
        return try oldestHistory.step() ? oldestHistory.int64(1) : nil
    }

    private func saveHistoryTotals(_ totals: HistoryTotals) throws(SQLiteError) {
        for (key, value) in [("history_count", Int64(totals.count)), ("history_bytes", totals.bytes), ("history_pruned", totals.pruned)] {
            try saveMeta.bind(1, key)
            try saveMeta.bind(2, value)
            try saveMeta.run()
        }
    }

    /// An event stored before rows had its time, type and subject beside it: read them from
    /// its CloudEvents JSON.
    static func withMetadata(_ event: Entry) -> Entry {
        var e = event
        guard let json = try? JSONParser.parse(event.payload) else { return e }
        e.type = json["type"]?.stringValue ?? ""
        e.subject = json["subject"]?.stringValue ?? ""
        e.time = json["time"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }?.millisecondsSinceEpoch ?? 0
        return e
    }
}

