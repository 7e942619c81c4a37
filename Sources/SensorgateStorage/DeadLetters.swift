// `sensorgate buffer dead-letter list|requeue|purge`: the events the broker refused too often,
// read and changed in buffer.db directly. A requeued event goes back into the buffer's queue
// with its seq and its bytes (so its id) unchanged, and is sent before newer events at the next
// start; list and purge are safe beside a running gateway.

import SensorgateCore

public struct DeadLetter: Sendable, Equatable {
    public var event: OutboundEvent
    /// The broker's last refusal: an MQTT 5 reason code (0x80 and up).
    public var reason: Int
    /// When it was moved aside, wall-clock milliseconds (0: before this was recorded).
    public var at: Int64
}

public enum DeadLetters {
    /// The dead letters in seq order, or just `seq`.
    public static func list(path: String, seq: UInt64? = nil) throws(SQLiteError) -> [DeadLetter] {
        let database = try open(path)
        let stmt = try database.prepare("""
            SELECT seq, topic, payload, reason, time_ms, type, subject, at_ms FROM dead_letter
            WHERE ?1 IS NULL OR seq = ?1 ORDER BY seq
            """)
        if let seq { try stmt.bind(1, Int64(seq)) } else { try stmt.bindNull(1) }
        var result: [DeadLetter] = []
        while try stmt.step() {
            var event = OutboundEvent(seq: UInt64(stmt.int64(0)), topic: stmt.string(1) ?? "", payload: stmt.blob(2),
                                      time: stmt.int64(4), type: stmt.string(5) ?? "", subject: stmt.string(6) ?? "")
            if event.type.isEmpty { event = OfflineBuffer.withMetadata(event) }
            result.append(DeadLetter(event: event, reason: Int(stmt.int64(3)), at: stmt.int64(7)))
        }
        return result
    }

    /// Moves dead letters (all, or `seq`) back into the buffer's queue; returns how many.
    /// Call it only while no gateway runs on the file (the caller holds the state_dir lock): the
    /// running forwarder would not know about the rows.
    public static func requeue(path: String, seq: UInt64? = nil) throws(SQLiteError) -> Int {
        let database = try open(path)
        return try database.transaction { () throws(SQLiteError) -> Int in
            let move = try database.prepare("""
                INSERT OR IGNORE INTO events (seq, topic, payload, time_ms, type, subject)
                SELECT seq, topic, payload, time_ms, type, subject FROM dead_letter WHERE ?1 IS NULL OR seq = ?1
                """)
            if let seq { try move.bind(1, Int64(seq)) } else { try move.bindNull(1) }
            try move.run()
            let moved = database.changes
            let remove = try database.prepare("DELETE FROM dead_letter WHERE ?1 IS NULL OR seq = ?1")
            if let seq { try remove.bind(1, Int64(seq)) } else { try remove.bindNull(1) }
            try remove.run()
            // The totals `buffer stats` reads, and one more commit for the buffer's record.
            try database.execute("""
                INSERT INTO meta (key, value) SELECT 'count', count(*) FROM events WHERE 1
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                INSERT INTO meta (key, value) SELECT 'bytes', coalesce(sum(length(topic) + length(payload)), 0) FROM events WHERE 1
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                INSERT INTO meta (key, value) SELECT 'newest_seq', coalesce(max(seq), 0) FROM events WHERE 1
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
                INSERT INTO meta (key, value) VALUES ('generation', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1;
                """)
            return moved
        }
    }

    /// Deletes dead letters (all, or `seq`) for good; returns how many.
    public static func purge(path: String, seq: UInt64? = nil) throws(SQLiteError) -> Int {
        let database = try open(path)
        let stmt = try database.prepare("DELETE FROM dead_letter WHERE ?1 IS NULL OR seq = ?1")
        if let seq { try stmt.bind(1, Int64(seq)) } else { try stmt.bindNull(1) }
        try stmt.run()
        return database.changes
    }

    private static func open(_ path: String) throws(SQLiteError) -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA busy_timeout = 5000")
        try OfflineBuffer.migrate(database)
        return database
    }
}
