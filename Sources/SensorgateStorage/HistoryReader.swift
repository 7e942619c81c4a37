// Reads the event history in buffer.db for replays, on a connection of its own (WAL lets it read
// beside the forwarder's writes; each query is one short read, so it never holds up a checkpoint
// for long). Used by the replay service's thread and by `sensorgate replay`. The replay
// service's thread also checkpoints the WAL (checkpointIfDue), so the fsync of a checkpoint never
// happens on the forwarder's thread in the middle of live delivery.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SensorgateCore

public final class HistoryReader: @unchecked Sendable {
    public let path: String
    private let database: SQLiteDatabase
    private let boundsQuery: SQLiteStatement
    private let spanQuery: SQLiteStatement
    private let rowsQuery: SQLiteStatement
    private let oldestQuery: SQLiteStatement

    public init(path: String) throws(SQLiteError) {
        self.path = path
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA busy_timeout = 2000")
        boundsQuery = try database.prepare("SELECT min(seq), max(seq) FROM history")
        oldestQuery = try database.prepare("SELECT time_ms FROM history ORDER BY seq LIMIT 1")
        spanQuery = try database.prepare("SELECT count(*), min(seq), max(seq) FROM history WHERE time_ms >= ?1 AND time_ms < ?2")
        rowsQuery = try database.prepare("""
            SELECT seq, topic, payload, time_ms, type, subject FROM history
            WHERE seq > ?1 AND seq <= ?2 AND time_ms >= ?3 AND time_ms < ?4
              AND (?5 IS NULL OR type = ?5) AND (?6 IS NULL OR subject = ?6)
            ORDER BY seq LIMIT ?7
            """)
    }

    /// Runs a passive checkpoint (it never waits for the writer) when the WAL has grown past
    /// `walBytes`; returns whether it ran.
    @discardableResult
    public func checkpointIfDue(walBytes: Int64 = 1024 * 1024) throws(SQLiteError) -> Bool {
        var info = stat()
        guard stat(path + "-wal", &info) == 0, Int64(info.st_size) >= walBytes else { return false }
        try database.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return true
    }

    /// The oldest and newest kept seq (nil when empty).
    public func bounds() throws(SQLiteError) -> HistoryBounds {
        defer { boundsQuery.reset() }
        _ = try boundsQuery.step()
        return HistoryBounds(oldest: boundsQuery.isNull(0) ? nil : UInt64(boundsQuery.int64(0)),
                      newest: boundsQuery.isNull(1) ? nil : UInt64(boundsQuery.int64(1)))
    }

    /// Rows with `since` <= time < `until` (milliseconds), through the time index.
    public func span(since: Int64, until: Int64) throws(SQLiteError) -> HistoryTimeSpan {
        try spanQuery.bind(1, since)
        try spanQuery.bind(2, until)
        defer { spanQuery.reset() }
        _ = try spanQuery.step()
        return HistoryTimeSpan(count: Int(spanQuery.int64(0)), first: spanQuery.isNull(1) ? nil : UInt64(spanQuery.int64(1)),
                        last: spanQuery.isNull(2) ? nil : UInt64(spanQuery.int64(2)))
    }

    /// The oldest kept event's time (milliseconds).
    public func oldestTime() throws(SQLiteError) -> Int64? {
        defer { oldestQuery.reset() }
        return try oldestQuery.step() ? oldestQuery.int64(0) : nil
    }

    /// Up to `limit` rows with `after` < seq <= `through` that pass the query's filters, in seq order.
    public func read(after: UInt64, through: UInt64, query: ReplayQuery, limit: Int) throws(SQLiteError) -> [OutboundEvent] {
        guard after < through else { return [] }
        try rowsQuery.bind(1, Int64(clamping: after))
        try rowsQuery.bind(2, Int64(clamping: through))
        try rowsQuery.bind(3, query.since ?? .min)
        try rowsQuery.bind(4, query.until ?? .max)
        if let type = query.type { try rowsQuery.bind(5, type) } else { try rowsQuery.bindNull(5) }
        if let subject = query.subject { try rowsQuery.bind(6, subject) } else { try rowsQuery.bindNull(6) }
        try rowsQuery.bind(7, Int64(limit))
        defer { rowsQuery.reset() }
        var rows: [OutboundEvent] = []
        while try rowsQuery.step() {
            rows.append(OutboundEvent(seq: UInt64(rowsQuery.int64(0)), topic: rowsQuery.string(1) ?? "", payload: rowsQuery.blob(2),
                                      time: rowsQuery.int64(3), type: rowsQuery.string(4) ?? "", subject: rowsQuery.string(5) ?? ""))
        }
        return rows
    }
}
