// The store-and-forward buffer: events waiting for the broker's PUBACK, in a SQLite file of their
// own (`buffer.db`, WAL), keyed by seq (never by wall-clock time: a Pi without an RTC boots in the
// past). Writes are group commits; limits are enforced with the on_full policy inside the same
// transaction, and drops are counted durably. A file SQLite cannot read is moved aside, never
// deleted.

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

        public static let empty = Stats(events: 0, bytes: 0, oldestSeq: nil, newestSeq: nil, dropped: 0, deadLettered: 0)

        /// The JSON `buffer stats` prints (SPEC.md).
        public var json: String {
            "{\"events\": \(events), \"bytes\": \(bytes), \"oldest_seq\": \(oldestSeq.map(String.init) ?? "null"), " +
            "\"newest_seq\": \(newestSeq.map(String.init) ?? "null"), \"dropped\": \(dropped), \"dead_letter\": \(deadLettered)}"
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
    private let readAfter: SQLiteStatement
    private let saveMeta: SQLiteStatement
    private let newestQuery: SQLiteStatement
    private let oldestQuery: SQLiteStatement

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
        insert = try database.prepare("INSERT OR IGNORE INTO events (seq, topic, payload) VALUES (?1, ?2, ?3)")
        delete = try database.prepare("DELETE FROM events WHERE seq = ?1 RETURNING length(topic) + length(payload)")
        readAfter = try database.prepare("SELECT seq, topic, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        saveMeta = try database.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        newestQuery = try database.prepare("SELECT max(seq) FROM events")
        oldestQuery = try database.prepare("SELECT seq, payload FROM events ORDER BY seq LIMIT 1")
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS events (
            seq INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS dead_letter (
            seq INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            reason INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """

    /// The highest seq this file knows was handed out: stored and dead-lettered events, the
    /// next seq of `mode: always`, and the sequence block last reserved (SequenceMirror). The
    /// sequence resumes above it even when sensorgate.db is lost.
    public func highestSeq(includingReservations: Bool) throws(SQLiteError) -> UInt64 {
        let stmt = try database.prepare("""
            SELECT max(coalesce((SELECT max(seq) FROM events), 0),
                       coalesce((SELECT max(seq) FROM dead_letter), 0),
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
    public func commit(_ c: DeliveryStateMachine.Commit) throws(SQLiteError) -> DeliveryStateMachine.CommitResult {
        var newCount = count, newBytes = bytes
        var droppedNew: [UInt64] = []
        var droppedThrough: UInt64? = nil
        var droppedOld = 0
        var newest = newestSeq
        do {
            try write(c, count: &newCount, bytes: &newBytes, droppedNew: &droppedNew, droppedThrough: &droppedThrough,
                      droppedOld: &droppedOld, newest: &newest)
        } catch {
            // A full disk: give back what the WAL took, so freeing a little space is enough.
            if error.isDiskFull { try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
            throw error
        }
        count = newCount
        bytes = newBytes
        newestSeq = newest
        generation += 1
        dropped += Int64(droppedNew.count + droppedOld + c.droppedInMemory)
        return .init(count: newCount, newest: newest, droppedThrough: droppedThrough, droppedNew: droppedNew,
                     dropped: droppedNew.count + droppedOld)
    }

    private func write(_ c: DeliveryStateMachine.Commit, count newCount: inout Int, bytes newBytes: inout Int64,
                       droppedNew: inout [UInt64], droppedThrough: inout UInt64?, droppedOld: inout Int,
                       newest: inout UInt64?) throws(SQLiteError) {
        try database.transaction { () throws(SQLiteError) in
            for seq in c.delete {
                try delete.bind(1, Int64(seq))
                if try delete.step() {
                    newCount -= 1
                    newBytes -= delete.int64(0)
                }
                delete.reset()
            }
            for entry in c.append {
                if onFull == .dropNewest, newCount + 1 > maxEvents || newBytes + entry.size > maxBytes {
                    droppedNew.append(entry.seq)
                    continue
                }
                try insert.bind(1, Int64(entry.seq))
                try insert.bind(2, entry.topic)
                try insert.bind(3, entry.payload)
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
            entries.append(Entry(seq: UInt64(readAfter.int64(0)), topic: readAfter.string(1) ?? "", payload: readAfter.blob(2)))
        }
        return entries
    }

    /// Moves an event the broker keeps refusing out of the queue, so it cannot block the rest.
    public func moveToDeadLetter(_ entry: Entry, reason: Int) throws(SQLiteError) {
        try database.transaction { () throws(SQLiteError) in
            let stmt = try database.prepare("INSERT OR REPLACE INTO dead_letter (seq, topic, payload, reason) VALUES (?1, ?2, ?3, ?4)")
            try stmt.bind(1, Int64(entry.seq))
            try stmt.bind(2, entry.topic)
            try stmt.bind(3, entry.payload)
            try stmt.bind(4, Int64(reason))
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
        return Stats(events: Int(count), bytes: bytes, oldestSeq: oldest.isNull(0) ? nil : UInt64(oldest.int64(0)),
                     newestSeq: count == 0 || newest == 0 ? nil : UInt64(newest), dropped: try meta("dropped") ?? 0,
                     deadLettered: Int(dead.int64(0)))
    }

    public func stats() throws(SQLiteError) -> Stats {
        let oldest = try database.prepare("SELECT min(seq) FROM events")
        _ = try oldest.step()
        let dead = try database.prepare("SELECT count(*) FROM dead_letter")
        _ = try dead.step()
        return Stats(events: count, bytes: bytes, oldestSeq: oldest.isNull(0) ? nil : UInt64(oldest.int64(0)),
                     newestSeq: newestSeq, dropped: dropped, deadLettered: Int(dead.int64(0)))
    }
}

