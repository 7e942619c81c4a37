// The two state files vouch for each other, so that losing or damaging one is noticed and never
// makes the gateway repeat a seq:
//   SequenceMirror  buffer.db keeps the end of the sequence block sensorgate.db last reserved:
//                   a gateway whose sensorgate.db is gone resumes above it.
//   BufferRecord    sensorgate.db keeps how many commits buffer.db had made and what it held:
//                   a buffer.db that went back in time (a damaged WAL after kill -9, a truncated
//                   or replaced file) is reported with the events it lost.
// Each is written through a connection of its own, by the thread that owns the writing.

import SensorgateCore

/// Writes sequence reservations into buffer.db (`meta.reserved_seq`: no seq at or above it was
/// handed out; the end of the block reserved, or the exact next seq after a clean stop). Owns
/// a SQLite connection; used by the pipeline's thread only.
public final class SequenceMirror: @unchecked Sendable {
    private let database: SQLiteDatabase
    private let save: SQLiteStatement

    public init(bufferPath: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: bufferPath)
        try database.configure(synchronous: .full)
        try database.execute(OfflineBuffer.schema)
        save = try database.prepare("""
            INSERT INTO meta (key, value) VALUES ('reserved_seq', ?1)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
    }

    func record(reservedThrough next: UInt64) throws(SQLiteError) {
        try save.bind(1, Int64(next))
        try save.run()
    }
}

/// buffer.db's commit count and contents as last seen, in sensorgate.db. Owns a SQLite
/// connection; used by the forwarder's thread (and at start) only.
public final class BufferRecord: @unchecked Sendable {
    public struct Seen: Sendable, Equatable {
        public var generation: Int64
        public var count: Int
        public var newest: UInt64?

        public init(generation: Int64, count: Int, newest: UInt64?) {
            self.generation = generation
            self.count = count
            self.newest = newest
        }
    }

    private let database: SQLiteDatabase
    private let save: SQLiteStatement

    public init(statePath: String) throws(SQLiteError) {
        database = try SQLiteDatabase(path: statePath)
        try database.configure(synchronous: .normal)
        try database.execute(Self.schema)
        save = try database.prepare("INSERT OR REPLACE INTO buffer_record (id, generation, count, newest) VALUES (1, ?1, ?2, ?3)")
    }

    public static let schema = """
        CREATE TABLE IF NOT EXISTS buffer_record (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL,
            count INTEGER NOT NULL,
            newest INTEGER
        );
        """

    public func write(_ seen: Seen) throws(SQLiteError) {
        try save.bind(1, seen.generation)
        try save.bind(2, Int64(seen.count))
        if let newest = seen.newest { try save.bind(3, Int64(newest)) } else { try save.bindNull(3) }
        try save.run()
    }

    /// What sensorgate.db last recorded, nil when nothing was.
    public static func read(_ database: SQLiteDatabase) throws(SQLiteError) -> Seen? {
        try database.execute(schema)
        let stmt = try database.prepare("SELECT generation, count, newest FROM buffer_record WHERE id = 1")
        guard try stmt.step() else { return nil }
        return Seen(generation: stmt.int64(0), count: Int(stmt.int64(1)), newest: stmt.isNull(2) ? nil : UInt64(stmt.int64(2)))
    }
}
